"""Wiener deconvolutions at a per-pixel blur radius: a bank of levels, blended per pixel.

Spatially varying deconvolution by the classical piecewise scheme (Nagy & O'Leary 1998,
here with a radius-indexed blend instead of image sections): the image is deconvolved
once at each radius of a fixed table of *levels*, and every pixel takes the blend of the
two levels that bracket its own radius, linear in ``log(1 + r)``. A pixel of radius 0
gets the image itself. The radius map comes from a blur-map estimator
(:mod:`defocus.blurmap`); the deconvolutions are those of :mod:`defocus.models.wiener_bank`
(Wiener–Hunt, Laplacian regulariser, half-sample symmetric borders in the DCT domain).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from defocus.classical.blind import stack_psfs
from defocus.classical.wiener import LAPLACIAN, wiener_hunt_filter
from defocus.degrade import disk_kernel, gaussian_kernel
from defocus.operators.blur import BlurOperator
from defocus.operators.dct import dct2, idct2, symmetric_eigenvalues

LEVEL_RADII = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0)
"""Radii (pixels) at which the image is deconvolved; level 0 is the image itself."""
PSF_SHAPES = ("disk", "gaussian")
"""PSF models of the levels: the thin-lens disk and a Gaussian of σ = r / 2 (no spectral
zeros: safe where the real PSF is not a disk, e.g. smooth bokeh or a measured lens)."""


def level_psf(shape: str, radius: float) -> torch.Tensor:
    """The PSF of one level: a disk of ``radius`` or a Gaussian of σ = ``radius`` / 2.

    Shape:
        ``(S, S)`` float64, S odd.
    """
    if shape == "disk":
        return disk_kernel(radius)
    if shape == "gaussian":
        return gaussian_kernel(radius / 2)
    raise ValueError(f"unknown PSF shape {shape!r}; expected one of {', '.join(PSF_SHAPES)}")


def level_weights(
    radius: torch.Tensor, levels: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bracketing level and blend weight of every pixel, linear in ``log(1 + r)``.

    A pixel of radius ``r`` takes ``(1 − w)`` of level ``i`` and ``w`` of level ``i + 1``
    where ``levels[i] ≤ r ≤ levels[i + 1]``; radii beyond the table are clamped to it.

    Args:
        radius: Blur radius per pixel (pixels, ≥ 0).
        levels: Increasing radii, at least two.

    Returns:
        ``(i, w)``: the lower level's index (int64) and the upper level's weight.

    Shape:
        ``radius (...)`` -> both ``(...)``.
    """
    table = torch.tensor([math.log1p(r) for r in levels], dtype=radius.dtype, device=radius.device)
    t = torch.log1p(radius.clamp(min=levels[0], max=levels[-1]))
    lower = (torch.searchsorted(table, t.contiguous(), right=True) - 1).clamp(0, len(levels) - 2)
    weight = (t - table[lower]) / (table[lower + 1] - table[lower])
    return lower, weight.clamp(0, 1)


class VaryingWienerBank(nn.Module):
    """Wiener candidates at per-pixel radii ``m · r(x)``, for PSF shapes, multipliers and balances.

    Candidate ``(s, m, l)`` is, at every pixel, the level blend (see
    :func:`level_weights`) of the Wiener–Hunt deconvolutions of the image with PSF shape
    ``shapes[s]`` at radius ``multipliers[m] · r(x)`` and balance ``balances[l]``. Each
    level's deconvolution is computed once (and only if some pixel uses it) and added
    into every candidate that uses it, so the cost is one inverse DCT per used level and
    balance, and memory one result plus one spectrum. No parameters.

    Args:
        levels: Radii of the levels (increasing, the first 0: the image itself).
        shapes: PSF models (see :data:`PSF_SHAPES`).
        multipliers: Factors of the radius map, e.g. ``(0.7, 1, 1.4)`` for a map that is
            off by 30 %.
        balances: Wiener balances (absolute; the image in ``[0, 1]``).

    Attributes:
        candidates: ``len(shapes) · len(multipliers) · len(balances)``.

    Shape:
        ``y (N, 1, H, W)``, ``radius (N, 1, H, W) -> (N, candidates, H, W)``, candidate
        ``(s, m, l)`` in channel ``(s · M + m) · L + l``.
    """

    def __init__(
        self,
        levels: Sequence[float] = LEVEL_RADII,
        shapes: Sequence[str] = PSF_SHAPES,
        multipliers: Sequence[float] = (0.7, 1.0, 1.4),
        balances: Sequence[float] = (2e-3, 2e-2),
    ) -> None:
        super().__init__()
        levels = tuple(float(r) for r in levels)
        if len(levels) < 2 or levels[0] != 0 or any(b <= a for a, b in pairwise(levels)):
            raise ValueError(f"levels must increase from 0, got {levels}")
        if not shapes or not multipliers or min(multipliers) <= 0 or not balances:
            raise ValueError("shapes, multipliers and balances must be non-empty, multipliers > 0")
        if min(balances) <= 0:
            raise ValueError(f"balances must be positive, got {tuple(balances)}")
        self.levels, self.shapes = levels, tuple(shapes)
        self.multipliers, self.balances = tuple(multipliers), tuple(float(b) for b in balances)
        for shape in self.shapes:
            psfs = stack_psfs([level_psf(shape, r) for r in levels[1:]]).float()
            self.register_buffer(f"psfs_{shape}", psfs, persistent=False)
        self.candidates = len(self.shapes) * len(self.multipliers) * len(self.balances)

    def forward(
        self,
        y: torch.Tensor,
        radius: torch.Tensor,
        dtype: torch.dtype | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The candidates of ``y`` at radius map ``radius`` (see the class docstring).

        Args:
            y: Blurry single-channel images.
            radius: Blur radius per pixel.
            dtype: Storage type of the result (default ``y``'s); computed in ``y``'s.
            out: A tensor of the result's shape to write into (then returned).
        """
        batch, _, height, width = y.shape
        if out is None:
            out = y.new_zeros((batch, self.candidates, height, width), dtype=dtype or y.dtype)
        else:
            out.zero_()
        blends = [
            level_weights(m * radius[:, 0].to(y.dtype), self.levels) for m in self.multipliers
        ]
        spectrum = dct2(y[:, 0])
        laplacian = torch.tensor(LAPLACIAN, dtype=y.dtype, device=y.device)
        penalty = symmetric_eigenvalues(laplacian, (height, width)).square()
        count = len(self.balances)
        for level in range(len(self.levels)):
            shares = []  # (multiplier index, weight of this level) where it is used
            for m, (lower, weight) in enumerate(blends):
                share = torch.where(lower == level, 1 - weight, 0) + torch.where(
                    lower + 1 == level, weight, 0
                )
                if bool((share > 0).any()):
                    shares.append((m, share))
            if not shares:
                continue
            for s, shape in enumerate(self.shapes):
                if level == 0:  # radius 0: the image itself, for every balance
                    restored = [y[:, 0]] * count
                else:
                    psf = getattr(self, f"psfs_{shape}")[level - 1, None, None].to(y.dtype)
                    eigen = BlurOperator(psf, "symmetric", "dct").dct_eigenvalues((height, width))
                    eigen = eigen[:, 0]
                    power = eigen.square()
                    restored = (
                        idct2(spectrum * wiener_hunt_filter(eigen, power, lam, penalty))
                        for lam in self.balances
                    )
                for level_balance, image in enumerate(restored):
                    for m, share in shares:
                        channel = (s * len(self.multipliers) + m) * count + level_balance
                        out[:, channel] += (share * image).to(out.dtype)
        return out
