"""The blur operator: convolution with a PSF under a named boundary model, and its adjoint.

``A x = valid(extend(x) * k)``: the image is continued beyond its edges by the boundary
model (:mod:`defocus.operators.boundary`), convolved with the PSF (true convolution,
kernel flipped), and the fully covered outputs are kept, so
``(A x)[i] = Σ_j k[j] · x[i - j + c]`` with ``c = (h // 2, w // 2)`` the PSF centre and
``x`` read through the boundary. Its adjoint ``Aᵀ`` correlates with the PSF over the
extended domain and adds the extension back (:func:`extend_adjoint`), exactly, for
every boundary and kernel size, even kernels larger than the image.

Three ways to compute it, all equal to float rounding:

- ``"direct"``: a spatial convolution (``torch.conv2d``, or ``cv2.filter2D`` on CPU
  without autograd, several times faster there);
- ``"fft"``: a zero-padded FFT convolution, with the transfer function cached per size;
- ``"dct"``: for the ``"symmetric"`` boundary and kernels symmetric in each axis, where
  the blur is diagonal in the DCT-II (:mod:`defocus.operators.dct`), ``Aᵀ = A``.

``method="auto"`` is direct for kernels of at most :data:`DIRECT_MAX_TAPS` taps and FFT
beyond: the one threshold of the project.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from defocus.operators.boundary import (
    Boundary,
    boundary_name,
    extend,
    extend_adjoint,
    rows_through,
)
from defocus.operators.dct import dct2, idct2, symmetric_eigenvalues
from defocus.operators.fourier import fast_size, psf_to_otf

Method = Literal["auto", "direct", "fft", "opencv", "dct"]
METHODS: tuple[str, ...] = ("auto", "direct", "fft", "opencv", "dct")

DIRECT_MAX_TAPS = 121
"""``method="auto"`` convolves directly up to this many taps (11x11), with FFTs beyond.

Measured on this project's 2-core CPU (3x768x768 float32, zero boundary, ms per blur,
OpenCV direct / conv2d direct / FFT): 3x3 1.5 / 42 / 21, 7x7 5.5 / 44 / 20, 11x11 11 /
44 / 21, 15x15 34 / 78 / 13, 21x21 40 / 104 / 14 (OpenCV switches to its own, slower
DFT above 11x11). See benchmarks/bench_blur.py.
"""
DCT_TOLERANCE = 1e-6
"""Asymmetry (relative to the largest tap) the DCT path accepts: float rounding of a
symmetric kernel's construction, far below what would change a result."""
BAND_ELEMENTS = 2**24
"""Images of more elements than this (64 MB in float32) are blurred in bands of rows when
no gradient is needed: memory stays at the input, the output and one band."""
_OPENCV_BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "reflect-101": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
    "replicate": cv2.BORDER_REPLICATE,
}


def is_centro_symmetric(psf: torch.Tensor, tolerance: float = 0.0) -> bool:
    """Whether odd-sized kernels are symmetric about their centre row and column.

    Args:
        psf: Kernels ``(..., h, w)``.
        tolerance: Largest asymmetry allowed, relative to the largest tap (0: exact).
    """
    h, w = psf.shape[-2:]
    if h % 2 == 0 or w % 2 == 0:
        return False
    limit = tolerance * float(psf.abs().max())
    flips = (psf.flip(-1), psf.flip(-2))
    return all(float((psf - flipped).abs().max()) <= limit for flipped in flips)


def margins(psf_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Rows above, below, columns left, right that a PSF of ``(h, w)`` reads around a pixel."""
    h, w = psf_size
    return h - 1 - h // 2, h // 2, w - 1 - w // 2, w // 2


def _can_use_opencv(x: torch.Tensor) -> bool:
    grad = torch.is_grad_enabled() and x.requires_grad
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not grad


class BlurOperator:
    """``A``: blur by a PSF under a boundary model; ``Aᵀ`` its exact adjoint.

    Args:
        psf: Kernel(s) ``(B or 1, C or 1, h, w)`` in the images' dtype and device,
            centred at ``(h // 2, w // 2)``.
        boundary: Boundary model (:data:`~defocus.operators.boundary.BOUNDARIES`).
        method: ``"auto"``, ``"direct"`` (``conv2d``), ``"opencv"`` (``cv2.filter2D``;
            CPU float tensors without autograd), ``"fft"`` or ``"dct"`` (``"symmetric"``
            boundary with a centro-symmetric kernel only).

    Raises:
        ValueError: For an unknown boundary or method, or ``"dct"`` where it does not
            apply.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)`` for both directions.
    """

    def __init__(self, psf: torch.Tensor, boundary: str = "reflect-101", method: str = "auto"):
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        if psf.ndim != 4:
            raise ValueError(f"PSF must be (B or 1, C or 1, h, w); got shape {tuple(psf.shape)}")
        self.psf = psf
        self.boundary: Boundary = boundary_name(boundary)
        symmetric = is_centro_symmetric(psf, tolerance=DCT_TOLERANCE)
        if method == "dct" and not (self.boundary == "symmetric" and symmetric):
            raise ValueError(
                "method='dct' needs the 'symmetric' boundary and a kernel symmetric in each "
                "axis about its centre"
            )
        self.method = method
        self._otfs: dict[tuple[int, int], torch.Tensor] = {}

    @property
    def taps(self) -> int:
        """Number of kernel taps ``h · w``."""
        return int(self.psf.shape[-1] * self.psf.shape[-2])

    def path(self, x: torch.Tensor) -> str:
        """The path (``"direct"``, ``"opencv"``, ``"fft"`` or ``"dct"``) used for ``x``."""
        if self.method != "auto":
            return self.method
        if self.taps > DIRECT_MAX_TAPS:
            return "fft"
        return "opencv" if _can_use_opencv(x) else "direct"

    def _diagonal(self, x: torch.Tensor, method: str, adjoint: bool) -> torch.Tensor | None:
        """``A x`` (or ``Aᵀ x``) where the blur is diagonal (DCT, circular FFT); else None."""
        if method == "dct":
            return self._dct(x)  # symmetric kernel and boundary: Aᵀ = A
        if method == "fft" and self.boundary == "circular":
            otf = self.transfer_function((x.shape[-2], x.shape[-1]))
            spectrum = torch.fft.rfft2(x) * (otf.conj() if adjoint else otf)
            return torch.fft.irfft2(spectrum, s=x.shape[-2:])
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``A x``: the blurred images."""
        method = self.path(x)
        diagonal = self._diagonal(x, method, adjoint=False)
        if diagonal is not None:
            return diagonal
        h, w = self.psf.shape[-2:]
        fits = h // 2 < x.shape[-2] and w // 2 < x.shape[-1]
        if method == "opencv" and self.boundary in _OPENCV_BORDERS and fits:
            # OpenCV extends the border itself: no extended copy of the images.
            return _filter_opencv(x, self.psf, _OPENCV_BORDERS[self.boundary])
        if x.numel() > BAND_ELEMENTS and not (torch.is_grad_enabled() and x.requires_grad):
            return self._forward_in_bands(x, method)
        return self._valid(extend(x, *margins((h, w)), self.boundary), self.psf, method)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """``Aᵀ y``: correlation with the PSF, folded back through the boundary."""
        method = self.path(y)
        diagonal = self._diagonal(y, method, adjoint=True)
        if diagonal is not None:
            return diagonal
        h, w = self.psf.shape[-2:]
        full = F.pad(y, (w - 1, w - 1, h - 1, h - 1))
        correlated = self._valid(full, self.psf.flip(-2, -1), method, cache=False)
        return extend_adjoint(correlated, *margins((h, w)), self.boundary)

    __call__ = forward

    def transfer_function(self, size: tuple[int, int]) -> torch.Tensor:
        """The one-sided OTF of the circular blur on a ``size`` grid (cached per size).

        For the ``"circular"`` boundary on images of ``size`` the blur is
        ``irfft2(otf · rfft2(x))``; kernels larger than the grid are folded onto it.

        Shape:
            ``(B or 1, C or 1, H, W // 2 + 1)`` for ``size = (H, W)``.
        """
        key = (int(size[0]), int(size[1]))
        if key not in self._otfs:
            self._otfs[key] = psf_to_otf(self.psf, key, onesided=True, fold=True)
        return self._otfs[key]

    def dct_eigenvalues(self, size: tuple[int, int]) -> torch.Tensor:
        """The DCT-II eigenvalues of the ``"symmetric"``-boundary blur on ``size`` images.

        Shape:
            ``(B or 1, C or 1, H, W)``.
        """
        return symmetric_eigenvalues(self.psf, (int(size[0]), int(size[1])))

    def _dct(self, x: torch.Tensor) -> torch.Tensor:
        return idct2(self.dct_eigenvalues(x.shape[-2:]) * dct2(x))

    def _valid(
        self, xp: torch.Tensor, k: torch.Tensor, method: str, cache: bool = True
    ) -> torch.Tensor:
        if method == "fft":
            height, width = xp.shape[-2:]
            size = (fast_size(height), fast_size(width))
            otf = self.transfer_function(size) if cache else None
            return _valid_fft(xp, k, size, otf)
        return convolve_valid(xp, k, method)

    def _forward_in_bands(self, x: torch.Tensor, method: str) -> torch.Tensor:
        """:meth:`forward` of a large image band by band: each band reads its rows plus margins."""
        top, bottom, left, right = margins(tuple(self.psf.shape[-2:]))
        height = x.shape[-2]
        rows_per_band = max(1, BAND_ELEMENTS // max(1, x[..., :1, :].numel()))
        out = torch.empty_like(x)
        for start in range(0, height, rows_per_band):
            stop = min(height, start + rows_per_band)
            band = extend(
                rows_through(x, start - top, stop + bottom, self.boundary),
                0,
                0,
                left,
                right,
                self.boundary,
            )
            out[..., start:stop, :] = self._valid(band, self.psf, method)
        return out


def convolve_valid(xp: torch.Tensor, psf: torch.Tensor, method: str = "auto") -> torch.Tensor:
    """Convolution of already extended images, keeping only fully covered outputs.

    ``A x`` is ``convolve_valid(extend(x, *margins(psf)), psf)``; call this directly when
    the margin holds real image content (e.g. a crop taken with a margin of the PSF's
    size), so that no boundary model is needed at all.

    Args:
        xp: Images that include a margin of ``h - 1 - h // 2`` rows above, ``h // 2``
            below, and likewise for columns.
        psf: Kernel(s) ``(B or 1, C or 1, h, w)`` in ``xp``'s dtype and device.
        method: ``"auto"``, ``"direct"``, ``"opencv"`` or ``"fft"``.

    Returns:
        The convolution over the inner region.

    Shape:
        ``(B, C, H + h - 1, W + w - 1) -> (B, C, H, W)`` for an ``(h, w)`` PSF.
    """
    h, w = psf.shape[-2:]
    if method == "auto":
        method = "fft" if h * w > DIRECT_MAX_TAPS else "opencv" if _can_use_opencv(xp) else "direct"
    if method == "fft":
        return _valid_fft(xp, psf, (fast_size(xp.shape[-2]), fast_size(xp.shape[-1])))
    if method == "opencv":
        top, left = h - 1 - h // 2, w - 1 - w // 2
        out = _filter_opencv(xp, psf, cv2.BORDER_CONSTANT)  # only inner outputs are kept
        return out[..., top : xp.shape[-2] - h // 2, left : xp.shape[-1] - w // 2].contiguous()
    if method != "direct":
        raise ValueError(f"method must be auto, direct, opencv or fft; got {method!r}")
    batch, channels = xp.shape[:2]
    groups = batch * channels
    # One depthwise convolution over all B·C planes: far faster on CPU than a batch of
    # single-channel convolutions.
    weight = psf.flip(-2, -1).expand(batch, channels, h, w).reshape(groups, 1, h, w)
    out = F.conv2d(xp.reshape(1, groups, *xp.shape[-2:]), weight, groups=groups)
    return out.reshape(batch, channels, *out.shape[-2:])


def _valid_fft(
    xp: torch.Tensor, k: torch.Tensor, size: tuple[int, int], otf: torch.Tensor | None = None
) -> torch.Tensor:
    """:func:`convolve_valid` through a zero-padded circular FFT convolution on ``size``.

    With the PSF centred at the origin, output row ``top + i`` of the circular
    convolution only reads padded rows ``i .. i + h - 1``, so zero-padding ``xp`` up to
    ``size`` never wraps around into the kept region.
    """
    h, w = k.shape[-2:]
    top, left = h - 1 - h // 2, w - 1 - w // 2
    height, width = xp.shape[-2:]
    extended = F.pad(xp, (0, size[1] - width, 0, size[0] - height))
    if otf is None:
        otf = psf_to_otf(k.to(xp.dtype), size, onesided=True)
    out = torch.fft.irfft2(torch.fft.rfft2(extended) * otf, s=size)
    return out[..., top : top + height - h + 1, left : left + width - w + 1].contiguous()


def _filter_opencv(x: torch.Tensor, k: torch.Tensor, border: int) -> torch.Tensor:
    """Same-size convolution of every plane with ``cv2.filter2D`` (CPU, no autograd).

    ``filter2D`` correlates, so it gets the flipped kernel with its anchor on the flipped
    centre; ``border`` is an OpenCV border type, which extends the image itself.
    """
    if not _can_use_opencv(x):
        raise ValueError("method='opencv' needs float32/float64 CPU tensors without autograd")
    batch, channels = x.shape[:2]
    h, w = k.shape[-2:]
    anchor = (w - 1 - w // 2, h - 1 - h // 2)
    planes = x.detach().contiguous().numpy()
    kernels = k.detach().flip(-2, -1).expand(batch, channels, h, w).numpy()
    out = np.empty_like(planes)
    for b in range(batch):
        for c in range(channels):
            cv2.filter2D(
                planes[b, c], -1, kernels[b, c], dst=out[b, c], anchor=anchor, borderType=border
            )
    return torch.from_numpy(out)
