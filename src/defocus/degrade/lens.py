"""Real lens PSFs at any radius, and mild asymmetry for any PSF.

Real defocus PSFs are roughly disks, but with soft, uneven edges, aperture-blade
corners and some asymmetry (``../shared/data/psfs/hdc2021``: 12 PSFs measured from a
real camera at 12 focus settings, shipped cleaned in ``defocus/assets/lens_psfs.npz``,
MIT licence, see ``scripts/build_lens_psfs.py``). :func:`lens_psf` rescales one of
those shapes to a given effective radius (the radius of the uniform disk with the same
second moment, so that ``lens_psf(r)`` and ``disk_kernel(r)`` blur about as much);
:func:`warp_psf` stretches and rotates any PSF (an elliptical, mildly asymmetric
aperture). Both resample by area: the source is box-filtered to about the target
resolution, then sampled bilinearly on a 3x3 grid of points per target tap, so
shrinking a 341x341 PSF to a 5x5 one does not alias.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from defocus.limits import check_psf_side

LENS_SHAPES = 12
"""Number of measured lens PSF shapes (``shape`` 0 … 11, in focus-setting order)."""
_SUPERSAMPLE = 3
TRIM = 1e-3
"""Taps below this fraction of the peak are cropped away (their light is renormalised)."""


@functools.lru_cache(maxsize=1)
def _shapes() -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    path = resources.files("defocus.assets").joinpath("lens_psfs.npz")
    with resources.as_file(path) as file, np.load(file) as data:
        shapes = tuple(data[f"step_{i}"].astype(np.float64) for i in range(LENS_SHAPES))
        return shapes, data["radii"].astype(np.float64)


def effective_radius(psf: torch.Tensor) -> float:
    """Radius of the uniform disk with the same second moment about the PSF's centroid.

    ``sqrt(2 · E[|x - centroid|²])`` under the normalised PSF; exact for a disk of
    radius much larger than a pixel.

    Shape:
        ``psf``: ``(h, w)``.
    """
    weights = psf.double().clamp_min(0)
    weights = weights / weights.sum()
    rows = torch.arange(psf.shape[0], dtype=torch.float64)[:, None]
    cols = torch.arange(psf.shape[1], dtype=torch.float64)[None, :]
    cy, cx = float((weights * rows).sum()), float((weights * cols).sum())
    second = (weights * ((rows - cy) ** 2 + (cols - cx) ** 2)).sum()
    return float(torch.sqrt(2 * second))


def warp_psf(
    psf: torch.Tensor,
    scale: float = 1.0,
    ratio: float = 1.0,
    angle: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Resample a PSF magnified by ``scale``, stretched by ``ratio`` along ``angle``.

    The result is centred on its centroid (no shift of the image it blurs), odd-sized,
    non-negative and sums to 1. ``ratio`` > 1 elongates the PSF along the direction
    ``angle`` (radians from the x axis) by ``sqrt(ratio)`` and shrinks it across by the
    same factor (area kept): an elliptical aperture, the mild asymmetry of real lenses
    away from the optical axis.

    Args:
        psf: Kernel ``(h, w)``, non-negative.
        scale: Magnification (> 0); 0.5 halves the PSF's radius.
        ratio: Axis ratio of the stretch (>= 1 elongates; 1 keeps the shape).
        angle: Direction of the elongation in radians.
        dtype: Result dtype.

    Returns:
        The kernel, summing to 1.

    Raises:
        ValueError: For a non-positive scale or ratio, or a result larger than
            :data:`~defocus.limits.MAX_PSF_SIDE`.

    Shape:
        ``(h, w) -> (2n + 1, 2n + 1)``, ``n`` covering the warped support.
    """
    if not (scale > 0 and ratio > 0 and math.isfinite(scale * ratio * angle)):
        raise ValueError(f"scale and ratio must be finite and > 0, got {scale}, {ratio}")
    source = psf.double().clamp_min(0)
    source = source / source.sum()
    h, w = source.shape
    rows = torch.arange(h, dtype=torch.float64)[:, None]
    cols = torch.arange(w, dtype=torch.float64)[None, :]
    centre = torch.stack([(source * cols).sum(), (source * rows).sum()])  # (x, y)
    stretch = math.sqrt(ratio)
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    # target -> source map: undo the rotation, the stretch and the magnification
    squeeze = torch.diag(torch.tensor([1 / stretch, stretch], dtype=torch.float64))
    inverse = rotation @ squeeze @ rotation.T / scale
    forward_extent = scale * max(stretch, 1 / stretch) * math.hypot(h, w) / 2
    half = max(0, math.ceil(forward_extent))
    check_psf_side(2 * half + 1, f"warped PSF (scale {scale:g})")
    # box-filter the source to about 3 samples per target tap when shrinking
    # (never beyond the whole source: a tiny scale collapses it to one sample)
    factor = max(1, min(max(h, w), int(1 / (scale * _SUPERSAMPLE * max(stretch, 1 / stretch)))))
    if factor > 1:
        pad_h, pad_w = -h % factor, -w % factor
        padded = F.pad(source[None, None], (0, pad_w, 0, pad_h))
        source = F.avg_pool2d(padded, factor)[0, 0] * factor**2
        centre = (centre + 0.5) / factor - 0.5
    side = 2 * half + 1
    offsets = (torch.arange(_SUPERSAMPLE, dtype=torch.float64) + 0.5) / _SUPERSAMPLE - 0.5
    fine = (torch.arange(side, dtype=torch.float64)[:, None] - half + offsets).flatten()
    ty, tx = torch.meshgrid(fine, fine, indexing="ij")
    points = torch.stack([tx.flatten(), ty.flatten()])  # (2, N) target offsets, (x, y)
    mapped = inverse @ points / factor + centre[:, None]  # source pixel coordinates
    height, width = source.shape
    grid = torch.stack(
        [2 * (mapped[0] + 0.5) / width - 1, 2 * (mapped[1] + 0.5) / height - 1], dim=-1
    ).reshape(1, side * _SUPERSAMPLE, side * _SUPERSAMPLE, 2)
    sampled = F.grid_sample(
        source[None, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    kernel = F.avg_pool2d(sampled, _SUPERSAMPLE)[0, 0].clamp_min(0)
    if not kernel.sum() > 0:  # smaller than a tap: all the light lands on the centre
        kernel = torch.zeros(side, side, dtype=torch.float64)
        kernel[half, half] = 1.0
    kernel = _trim(kernel)
    return (kernel / kernel.sum()).to(dtype)


def _trim(kernel: torch.Tensor) -> torch.Tensor:
    """Crop a centred odd kernel to the square holding every tap above TRIM of the peak."""
    half = kernel.shape[0] // 2
    ys, xs = torch.nonzero(kernel > TRIM * kernel.max(), as_tuple=True)
    keep = int(torch.maximum((ys - half).abs().max(), (xs - half).abs().max()))
    return kernel[half - keep : half + keep + 1, half - keep : half + keep + 1]


def lens_psf(
    radius: float,
    shape: int = 5,
    ratio: float = 1.0,
    angle: float = 0.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """A measured real-lens defocus PSF rescaled to an effective radius.

    Args:
        radius: Effective radius in pixels (the uniform disk of this radius has the
            same second moment); 0 gives the identity.
        shape: Which measured PSF, 0 … :data:`LENS_SHAPES` - 1 (focus settings of one
            camera: 0–1 are small and elongated, 4 shows aperture-blade corners, 11 is
            off-centre and uneven).
        ratio: Extra elliptical stretch (see :func:`warp_psf`).
        angle: Its direction in radians.
        dtype: Result dtype.

    Returns:
        The kernel, centred on its centroid, summing to 1.

    Raises:
        ValueError: For a negative radius or an unknown shape.

    Shape:
        ``(2n + 1, 2n + 1)``.
    """
    if not (radius >= 0 and math.isfinite(radius)):
        raise ValueError(f"radius must be a finite number >= 0, got {radius}")
    if shape not in range(LENS_SHAPES):
        raise ValueError(f"shape must be 0 … {LENS_SHAPES - 1}, got {shape}")
    if radius == 0:
        return torch.ones(1, 1, dtype=dtype)
    shapes, radii = _shapes()
    psf = torch.from_numpy(shapes[shape])
    return warp_psf(psf, radius / radii[shape], ratio, angle, dtype)
