"""Convolution of image batches with spatially constant PSFs, direct or via FFT."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from defocus.checks import check_batch
from defocus.degrade.fft import circular_convolve, fast_size
from defocus.degrade.kernels import parse_psf

Padding = Literal["reflect", "replicate", "circular", "zeros"]
Method = Literal["auto", "direct", "fft", "opencv"]
METHODS = ("auto", "direct", "fft", "opencv")
PADDINGS = ("reflect", "replicate", "circular", "zeros")
_OPENCV_BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
}

# ``method="auto"`` uses the FFT once the kernel has at least this many taps (25x25).
# Measured with benchmarks/bench_blur.py (float32, one thread, 4x3x256x256 and
# 16x3x128x128 batches): the depthwise direct convolution wins clearly up to 17x17,
# the two are level between about 21x21 and 31x31, and the FFT wins beyond.
FFT_MIN_TAPS = 625
# Images of more elements than this (64 MB in float32) are blurred in bands of rows
# when no gradient is needed: memory stays at the input, the output and one band.
BAND_ELEMENTS = 2**24


def boundary_indices(idx: torch.Tensor, n: int, padding: Padding) -> torch.Tensor:
    """Map indices that may fall outside ``[0, n)`` to the sample a boundary rule reads.

    Works for indices arbitrarily far outside (reflection folds back and forth,
    OpenCV's reflect-101 convention: the edge sample is not repeated).

    Args:
        idx: Integer positions along an axis of length ``n``.
        n: Axis length.
        padding: ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        Indices in ``[0, n)``, same shape as ``idx``.
    """
    if padding == "circular":
        return idx.remainder(n)
    if padding == "replicate":
        return idx.clamp(0, n - 1)
    if padding != "reflect":
        raise ValueError(f"no index mapping for padding {padding!r}")
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = idx.remainder(period)
    return torch.where(idx >= n, period - idx, idx)


def pad_image(
    x: torch.Tensor, top: int, bottom: int, left: int, right: int, padding: Padding = "reflect"
) -> torch.Tensor:
    """Pad the last two dimensions of ``x`` by the given widths.

    Unlike :func:`torch.nn.functional.pad`, the widths may exceed the image size for
    every mode.

    Args:
        x: Images.
        top: Rows added above.
        bottom: Rows added below.
        left: Columns added on the left.
        right: Columns added on the right.
        padding: ``"reflect"`` (OpenCV reflect-101, torch ``"reflect"``, scipy
            ``"mirror"``), ``"replicate"``, ``"circular"`` or ``"zeros"``.

    Returns:
        The padded images.

    Shape:
        ``(..., H, W) -> (..., H + top + bottom, W + left + right)``.
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
    if padding == "zeros":
        return F.pad(x, (left, right, top, bottom))
    height, width = x.shape[-2:]
    fits = max(top, bottom) < height and max(left, right) < width
    if (fits or padding == "replicate") and x.ndim in (3, 4):
        return F.pad(x, (left, right, top, bottom), mode=padding)  # torch's fast kernels
    rows = boundary_indices(torch.arange(-top, height + bottom, device=x.device), height, padding)
    cols = boundary_indices(torch.arange(-left, width + right, device=x.device), width, padding)
    return x.index_select(-2, rows).index_select(-1, cols)


def as_psf_tensor(psf: torch.Tensor | np.ndarray | str, x: torch.Tensor) -> torch.Tensor:
    """Bring a PSF (tensor, array or spec such as ``"disk:3"``) to ``x``'s dtype and device.

    Shape:
        ``psf``: ``(h, w)``, ``(B, h, w)`` or ``(B, C, h, w)``; ``x``: ``(B, C, H, W)``;
        result ``(B or 1, C or 1, h, w)``.
    """
    if isinstance(psf, str):
        psf = parse_psf(psf)
    k = torch.as_tensor(psf).to(device=x.device, dtype=x.dtype)
    if k.numel() == 0 or not bool(torch.isfinite(k).all()):
        raise ValueError(f"PSF of shape {tuple(k.shape)} is empty or holds NaN/infinite values")
    batch, channels = x.shape[:2]
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        k = k[:, None]
    if k.ndim != 4 or k.shape[0] not in (1, batch) or k.shape[1] not in (1, channels):
        raise ValueError(
            f"PSF of shape {tuple(psf.shape)} does not fit images of shape {tuple(x.shape)}: "
            "expected (h, w), (B, h, w), (B, 1, h, w) or (B, C, h, w)"
        )
    return k


def blur(
    x: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    padding: Padding = "reflect",
    method: Method = "auto",
) -> torch.Tensor:
    """Convolve each channel of each image with a PSF (true convolution, kernel flipped).

    The image is padded by the kernel's extent with the chosen boundary rule, convolved,
    and cropped back to its size, so ``out[i] = Σ_j psf[j] · x[i - j + c]`` with ``c``
    the PSF centre ``(h // 2, w // 2)`` and ``x`` extended by ``padding``. This equals
    ``scipy.ndimage.convolve`` with ``mode="mirror"`` (reflect), ``"nearest"``,
    ``"wrap"`` or ``"constant"`` for odd-sized kernels, and OpenCV's ``filter2D`` default
    border (reflect-101) on the flipped kernel.

    Args:
        x: Images, any number of channels; float dtype.
        psf: One kernel for the whole batch ``(h, w)``; one per image ``(B, h, w)`` or
            ``(B, 1, h, w)``; or one per image and channel ``(B, C, h, w)``. A string
            is parsed with :func:`defocus.degrade.kernels.parse_psf`.
        padding: Boundary rule: ``"reflect"`` (reflect-101), ``"replicate"``,
            ``"circular"`` or ``"zeros"``. Any kernel size works, also larger than
            the image.
        method: ``"direct"`` (spatial convolution), ``"fft"``, ``"opencv"``
            (``cv2.filter2D``: CPU float tensors without autograd only, fastest for
            single images, e.g. in data loaders), or ``"auto"``: FFT for kernels of at
            least :data:`FFT_MIN_TAPS` taps, else direct. All agree to float rounding.
            Without autograd, images of more than :data:`BAND_ELEMENTS` elements are
            processed in bands of rows (the same result up to float rounding, with
            bounded temporaries).

    Returns:
        The blurred images, same dtype and device as ``x``.

    Raises:
        TypeError: If ``x`` is not a tensor.
        ValueError: If ``x`` is not a floating-point, non-empty 4-D batch, or the PSF
            does not fit it.

    Shape:
        ``x``: ``(B, C, H, W)`` -> ``(B, C, H, W)``.
    """
    check_batch(x, finite=False)
    k = as_psf_tensor(psf, x)
    h, w = k.shape[-2:]
    fits = h // 2 < x.shape[-2] and w // 2 < x.shape[-1]
    if method == "opencv" and padding in _OPENCV_BORDERS and fits:
        # OpenCV extends the border itself: no padded copy of the images.
        return _filter_opencv(x, k, _OPENCV_BORDERS[padding])
    margins = (h - 1 - h // 2, h // 2, w - 1 - w // 2, w // 2)
    if x.numel() > BAND_ELEMENTS and not (torch.is_grad_enabled() and x.requires_grad):
        return _blur_in_bands(x, k, margins, padding, method)
    xp = pad_image(x, *margins, padding)
    return convolve_valid(xp, k, method)


def _blur_in_bands(
    x: torch.Tensor,
    k: torch.Tensor,
    margins: tuple[int, int, int, int],
    padding: Padding,
    method: Method,
) -> torch.Tensor:
    """:func:`blur` of a large image band by band: each band reads its rows plus margins."""
    top, bottom, left, right = margins
    height = x.shape[-2]
    rows_per_band = max(1, BAND_ELEMENTS // max(1, x[..., :1, :].numel()))
    out = torch.empty_like(x)
    for start in range(0, height, rows_per_band):
        stop = min(height, start + rows_per_band)
        rows = torch.arange(start - top, stop + bottom, device=x.device)
        if padding == "zeros":
            inside = rows[(rows >= 0) & (rows < height)]
            band = x.index_select(-2, inside)
            above = int((rows < 0).sum())
            band = F.pad(band, (0, 0, above, len(rows) - len(inside) - above))
        else:
            band = x.index_select(-2, boundary_indices(rows, height, padding))
        band = pad_image(band, 0, 0, left, right, padding)
        out[..., start:stop, :] = convolve_valid(band, k, method)
    return out


def convolve_valid(
    xp: torch.Tensor, psf: torch.Tensor | np.ndarray | str, method: Method = "auto"
) -> torch.Tensor:
    """Convolution of already padded images, keeping only fully covered outputs.

    ``blur(x, psf, padding)`` is ``convolve_valid(pad_image(x, ...), psf)``; call this
    directly when the margin holds real image content (e.g. a crop taken with a margin
    of the PSF's size), so no boundary rule is needed at all.

    Args:
        xp: Images that include a margin of ``h - 1 - h // 2`` rows above, ``h // 2``
            below, and likewise for columns.
        psf: Kernel(s), as for :func:`blur`.
        method: As for :func:`blur`.

    Returns:
        The convolution over the inner region.

    Shape:
        ``(B, C, H + h - 1, W + w - 1) -> (B, C, H, W)`` for an ``(h, w)`` PSF.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    k = as_psf_tensor(psf, xp)
    h, w = k.shape[-2:]
    if method == "auto":
        method = "fft" if h * w >= FFT_MIN_TAPS else "direct"
    if method == "fft":
        return _blur_fft(xp, k)
    if method == "opencv":
        return _blur_opencv(xp, k)
    return _blur_direct(xp, k)


def _blur_direct(xp: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Valid convolution of the padded images ``xp`` with ``k`` (see :func:`blur`)."""
    batch, channels = xp.shape[:2]
    groups = batch * channels
    # One depthwise convolution over all B·C planes: far faster on CPU than a batch of
    # single-channel convolutions.
    weight = k.flip(-2, -1).expand(batch, channels, *k.shape[-2:]).reshape(groups, 1, *k.shape[-2:])
    out = F.conv2d(xp.reshape(1, groups, *xp.shape[-2:]), weight, groups=groups)
    return out.reshape(batch, channels, *out.shape[-2:])


def _blur_fft(xp: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Same as :func:`_blur_direct` through a zero-padded circular FFT convolution.

    With the PSF centred at the origin, output row ``top + i`` of the circular
    convolution of ``xp`` only reads padded rows ``i .. i + h - 1``, so zero-padding
    ``xp`` up to a fast FFT size never wraps around into the kept region.
    """
    h, w = k.shape[-2:]
    top, left = h - 1 - h // 2, w - 1 - w // 2
    height, width = xp.shape[-2:]
    size = (height - h + 1, width - w + 1)
    extended = F.pad(xp, (0, fast_size(width) - width, 0, fast_size(height) - height))
    out = circular_convolve(extended, k)
    return out[..., top : top + size[0], left : left + size[1]].contiguous()


def _blur_opencv(xp: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Same as :func:`_blur_direct` with ``cv2.filter2D`` (CPU, no autograd).

    Only the outputs whose window lies inside ``xp`` are kept, so the border rule never
    matters.
    """
    h, w = k.shape[-2:]
    top, left = h - 1 - h // 2, w - 1 - w // 2
    out = _filter_opencv(xp, k, cv2.BORDER_CONSTANT)
    return out[..., top : xp.shape[-2] - h // 2, left : xp.shape[-1] - w // 2].contiguous()


def _filter_opencv(x: torch.Tensor, k: torch.Tensor, border: int) -> torch.Tensor:
    """Same-size convolution of every plane with ``cv2.filter2D`` (CPU, no autograd).

    ``filter2D`` correlates, so it gets the flipped kernel with its anchor on the flipped
    centre; ``border`` is an OpenCV border type, which extends the image itself.
    """
    if x.requires_grad or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        raise ValueError("method='opencv' needs float32/float64 CPU tensors without autograd")
    batch, channels = x.shape[:2]
    h, w = k.shape[-2:]
    anchor = (w - 1 - w // 2, h - 1 - h // 2)
    planes = x.contiguous().numpy()
    kernels = k.flip(-2, -1).expand(batch, channels, h, w).numpy()
    out = np.empty_like(planes)
    for b in range(batch):
        for c in range(channels):
            cv2.filter2D(
                planes[b, c], -1, kernels[b, c], dst=out[b, c], anchor=anchor, borderType=border
            )
    return torch.from_numpy(out)


class Blur(nn.Module):
    """Module form of :func:`blur` with a fixed PSF (stored as a buffer).

    Args:
        psf: Kernel, as accepted by :func:`blur` (a string spec such as ``"disk:3"`` too).
        padding: Boundary rule.
        method: As for :func:`blur`.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(
        self,
        psf: torch.Tensor | np.ndarray | str,
        padding: Padding = "reflect",
        method: Method = "auto",
    ) -> None:
        super().__init__()
        if isinstance(psf, str):
            psf = parse_psf(psf)
        self.register_buffer("psf", torch.as_tensor(psf, dtype=torch.float64).clone())
        self.padding: Padding = padding
        self.method: Method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Blur ``x`` with the stored PSF."""
        return blur(x, self.psf, self.padding, self.method)

    def extra_repr(self) -> str:
        """Show the kernel size and options."""
        return f"psf={tuple(self.psf.shape)}, padding={self.padding!r}, method={self.method!r}"
