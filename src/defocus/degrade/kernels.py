"""Point-spread functions (blur kernels): disk, Gaussian, ring, box, or loaded from a file.

Every kernel is a 2-D tensor normalised to sum 1. Kernels built here have odd sizes
and are centred on the middle tap; a kernel of even size (loaded from a file) has its
centre at index ``(h // 2, w // 2)``, the convention used by :func:`defocus.degrade.blur`
and :func:`defocus.operators.fourier.psf_to_otf`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from defocus.errors import DefocusError
from defocus.limits import check_psf_side

PSF_KINDS = ("disk", "gaussian", "ring", "box")


def _circle_corner_area(a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Signed area of ``{X² + Y² <= r²}`` inside the rectangle spanned by ``(0, 0)`` and ``(a, b)``.

    For ``a, b >= 0`` this is ``∫_0^a min(b, sqrt(r² - X²)) dX`` (clipped at the
    circle). Negative ``a`` or ``b`` give the mirrored area with a negative sign, so that
    the area of any axis-aligned rectangle ``[x0, x1] x [y0, y1]`` is the inclusion-
    exclusion sum ``C(x1, y1) - C(x0, y1) - C(x1, y0) + C(x0, y0)``.
    """
    sign = np.sign(a) * np.sign(b)
    a = np.minimum(np.abs(a), radius)
    b = np.minimum(np.abs(b), radius)
    r2 = radius * radius
    x_b = np.sqrt(np.maximum(r2 - b * b, 0.0))  # where the circle's height drops below b

    def primitive(x: np.ndarray) -> np.ndarray:  # ∫_0^x sqrt(r² - t²) dt
        return 0.5 * (x * np.sqrt(np.maximum(r2 - x * x, 0.0)) + r2 * np.arcsin(x / radius))

    x_mid = np.minimum(a, x_b)
    area = b * x_mid + primitive(a) - primitive(x_mid)
    return sign * area


def _disk_area_grid(radius: float, half: int) -> np.ndarray:
    """Exact area of each unit pixel of a ``(2 half + 1)²`` grid inside a centred circle."""
    edges = np.arange(-half, half + 2, dtype=np.float64) - 0.5
    lo, hi = edges[:-1], edges[1:]
    y0, x0 = lo[:, None], lo[None, :]
    y1, x1 = hi[:, None], hi[None, :]
    c = _circle_corner_area
    return c(x1, y1, radius) - c(x0, y1, radius) - c(x1, y0, radius) + c(x0, y0, radius)


def _finish(kernel: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    kernel = np.maximum(kernel, 0.0)
    return torch.from_numpy(kernel / kernel.sum()).to(dtype)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def disk_kernel(radius: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Anti-aliased pillbox (out-of-focus disk) PSF.

    Each tap is the exact fraction of its unit pixel that lies inside the circle of
    the given radius centred on the middle tap (computed in closed form), then the
    kernel is normalised to sum 1. ``radius = 0`` gives a single tap (identity).

    Args:
        radius: Disk radius in pixels (``>= 0``).
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel.

    Shape:
        ``(2 n + 1, 2 n + 1)`` with ``n = ceil(radius - 0.5)`` (every pixel the circle
        touches).
    """
    radius = _check_positive("radius", radius)
    if radius == 0:
        return torch.ones(1, 1, dtype=dtype)
    half = max(0, math.ceil(radius - 0.5))
    check_psf_side(2 * half + 1, f"disk radius {radius:g}")
    return _finish(_disk_area_grid(radius, half), dtype)


def ring_kernel(radius: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Ring PSF with a bright rim: 0.25 for ``|x| <= 0.75 r``, 1 for ``0.75 r < |x| <= r``.

    The profile equals ``1[|x| <= r] - 0.75 · 1[|x| <= 0.75 r]``; each tap is its
    average over the tap's pixel (exact areas, as for :func:`disk_kernel`), so small
    radii are anti-aliased too. Normalised to sum 1.

    Args:
        radius: Outer radius in pixels (``>= 0``).
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel.

    Shape:
        Same as :func:`disk_kernel` for the same radius.
    """
    radius = _check_positive("radius", radius)
    if radius == 0:
        return torch.ones(1, 1, dtype=dtype)
    half = max(0, math.ceil(radius - 0.5))
    check_psf_side(2 * half + 1, f"ring radius {radius:g}")
    outer = _disk_area_grid(radius, half)
    inner = _disk_area_grid(0.75 * radius, half)
    return _finish(outer - 0.75 * inner, dtype)


def gaussian_kernel(sigma: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Gaussian PSF sampled at pixel centres, size ``2·ceil(3σ)+1``, normalised to sum 1.

    Args:
        sigma: Standard deviation in pixels (``>= 0``; 0 gives the identity).
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel.

    Shape:
        ``(2 ceil(3σ) + 1, 2 ceil(3σ) + 1)``.
    """
    sigma = _check_positive("sigma", sigma)
    if sigma == 0:
        return torch.ones(1, 1, dtype=dtype)
    half = math.ceil(3 * sigma)
    check_psf_side(2 * half + 1, f"gaussian sigma {sigma:g}")
    t = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    return _finish(np.outer(g, g), dtype)


def box_kernel(size: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Box (moving-average) PSF, every tap ``1 / size²``.

    Args:
        size: Side length in pixels (``>= 1``; even sizes are centred at ``size // 2``).
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel.

    Shape:
        ``(size, size)``.
    """
    if not math.isfinite(size) or int(size) != size or size < 1:
        raise ValueError(f"box size must be a positive integer, got {size}")
    size = int(size)
    check_psf_side(size, f"box size {size}")
    return torch.full((size, size), 1.0 / (size * size), dtype=dtype)


def normalise_psf(psf: np.ndarray | torch.Tensor, source: str = "PSF") -> torch.Tensor:
    """Check a 2-D array is a usable PSF and return it as a float64 tensor summing to 1.

    Args:
        psf: The kernel values.
        source: What to call the kernel in error messages (e.g. its file name).

    Raises:
        DefocusError: If it is not a real-valued 2-D array, is empty or larger than
            :data:`defocus.limits.MAX_PSF_SIDE` taps per side, has non-finite or
            negative values, or sums to zero or to more than float64 holds.
    """
    arr = psf.detach().cpu().numpy() if isinstance(psf, torch.Tensor) else np.asarray(psf)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise DefocusError(
            f"{source}: a PSF must hold real numbers, got an array of dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.size == 0:
        raise DefocusError(f"{source}: a PSF must be a 2-D array, got shape {arr.shape}")
    try:
        check_psf_side(max(arr.shape), f"a {arr.shape[1]}x{arr.shape[0]} array")
    except ValueError as exc:
        raise DefocusError(f"{source}: {exc}") from None
    if not np.isfinite(arr).all():
        raise DefocusError(f"{source}: PSF contains NaN or infinite values")
    if (arr < 0).any():
        raise DefocusError(f"{source}: PSF has negative values")
    with np.errstate(over="ignore"):
        total = arr.sum()
    if not np.isfinite(total):
        raise DefocusError(f"{source}: PSF values are too large (their sum overflows)")
    if total <= 0:
        raise DefocusError(f"{source}: PSF sums to zero")
    return torch.from_numpy(arr / total)


def load_psf(path: str | os.PathLike[str], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Load a PSF from a ``.npy`` array or an image file, normalised to sum 1.

    A colour image is reduced to its channel mean. Values are taken linearly as
    stored (no gamma decoding).

    Args:
        path: ``.npy`` file holding a 2-D array, or any image :func:`defocus.io.read_image`
            reads.
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel.

    Raises:
        DefocusError: If the file is missing, unreadable or not a valid PSF.
    """
    from defocus.io import read_image  # local import: io is heavier than this module

    p = Path(path)
    if not p.is_file():
        raise DefocusError(f"{p}: no such PSF file")
    if p.suffix.lower() == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise DefocusError(f"{p}: cannot read PSF array ({exc or 'empty file'})") from None
        if not isinstance(arr, np.ndarray):
            raise DefocusError(f"{p}: not a .npy array file")
    else:
        arr = read_image(p).pixels.double().mean(dim=0).numpy()
    return normalise_psf(arr, source=str(p)).to(dtype)


def psf_file(spec: str) -> Path | None:
    """The file a PSF description reads (see :func:`parse_psf`), or ``None`` for ``KIND:VALUE``."""
    kind, sep, _ = spec.partition(":")
    if sep and kind.strip().lower() in PSF_KINDS:
        return None
    return Path(spec)


def parse_psf(spec: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Build a PSF from a short description: ``"disk:3"``, ``"gaussian:1.5"``, ``"ring:4"``,
    ``"box:5"``, or the path of a ``.npy``/image file.

    Args:
        spec: ``KIND:VALUE`` with KIND in ``disk``, ``gaussian``, ``ring`` (VALUE a
            radius or σ in pixels) or ``box`` (VALUE an integer size); anything else is
            taken as a file path (see :func:`load_psf`).
        dtype: Floating-point dtype of the result.

    Returns:
        The kernel, summing to 1.

    Raises:
        DefocusError: If the description is malformed or the file is unusable.
    """  # noqa: D205
    kind, sep, value = spec.partition(":")
    kind = kind.strip().lower()
    if psf_file(spec) is None:
        try:
            number = float(value)
            if kind == "box":
                return box_kernel(int(number) if number.is_integer() else number, dtype)
            builder = {"disk": disk_kernel, "gaussian": gaussian_kernel, "ring": ring_kernel}
            return builder[kind](number, dtype)
        except ValueError as exc:
            raise DefocusError(f"invalid PSF {spec!r}: {exc}") from None
    if not Path(spec).exists() and (sep or kind in PSF_KINDS):
        raise DefocusError(
            f"invalid PSF {spec!r}: expected disk:R, gaussian:SIGMA, ring:R, box:N or a file"
        )
    return load_psf(spec, dtype)
