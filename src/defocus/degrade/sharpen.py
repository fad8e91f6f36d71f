"""Unsharp masking, the sharpening MATLAB's ``imsharpen`` performs (spec ``metrics.md`` §6).

``out = x + amount · (x - G * x)`` with ``G`` a normalised Gaussian of standard
deviation ``radius``, truncated to ``2·ceil(2·radius) + 1`` taps, replicate padding
and threshold 0. Colour images are sharpened on their luma ``Y`` only (BT.601
YCbCr), keeping the chroma, so no colour fringes appear; grey images directly.

On uint8 input the computation runs in float64 on ``x / 255`` and the result is
rounded and clipped to ``[0, 255]`` (uint8 out), which reproduces ``imsharpen``
bit for bit (checked on the EUSIPCO 2025 ``sharp*.png`` files).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from defocus.color import rgb_to_ycbcr, ycbcr_to_rgb


def gaussian_taps(
    radius: float, dtype: torch.dtype, device: torch.device | None = None
) -> torch.Tensor:
    """Return the normalised 1-D Gaussian of standard deviation ``radius``.

    Args:
        radius: Standard deviation ``σ > 0`` in pixels.
        dtype: Floating-point dtype of the result.
        device: Device of the result.

    Returns:
        ``2·ceil(2σ) + 1`` taps summing to 1; their outer product is the 2-D kernel.

    Shape:
        ``(2·ceil(2σ) + 1,)``.
    """
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    half = math.ceil(2.0 * radius)
    t = torch.arange(-half, half + 1, dtype=torch.float64, device=device)
    taps = torch.exp(-(t * t) / (2.0 * radius * radius))
    return (taps / taps.sum()).to(dtype)


def _gaussian_blur(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Separable Gaussian blur of every channel, replicate padding. ``(B, C, H, W)``."""
    taps = gaussian_taps(radius, x.dtype, x.device)
    half = taps.numel() // 2
    channels = x.shape[1]
    padded = F.pad(x, (half, half, half, half), mode="replicate")
    rows = taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    cols = taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    return F.conv2d(F.conv2d(padded, rows, groups=channels), cols, groups=channels)


def _sharpen_channels(x: torch.Tensor, amount: float | torch.Tensor, radius: float) -> torch.Tensor:
    if isinstance(amount, torch.Tensor) and amount.ndim > 0:
        amount = amount.to(x).view(-1, 1, 1, 1)
    return x + amount * (x - _gaussian_blur(x, radius))


def unsharp_mask(
    x: torch.Tensor,
    amount: float | torch.Tensor,
    radius: float = 1.0,
    *,
    clip: bool = False,
) -> torch.Tensor:
    """Sharpen images by unsharp masking (MATLAB ``imsharpen`` with threshold 0).

    Args:
        x: Images. Floating point in ``[0, 1]`` (computed in that dtype,
            differentiable in ``x`` and ``amount``), or uint8 in ``[0, 255]``
            (computed in float64, rounded and clipped, returned as uint8).
        amount: Strength ``γ >= 0`` (``0`` returns the input); a float, or a tensor
            of shape ``(B,)`` giving one amount per image of the batch.
        radius: Standard deviation of the Gaussian, in pixels.
        clip: Clip a floating-point result to ``[0, 1]``. Off by default: the
            overshoot is what metrics such as Ω are meant to see.

    Returns:
        The sharpened images, same shape and dtype as ``x``.

    Shape:
        ``x``: ``(B, C, H, W)`` with ``C`` = 1 (sharpened directly) or 3 (RGB,
        luma sharpened, chroma kept). Output: same as ``x``.
    """
    if x.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) images, got shape {tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
    if x.dtype == torch.uint8:
        out = unsharp_mask(x.to(torch.float64) / 255.0, amount, radius)
        return torch.round(out * 255.0).clamp(0, 255).to(torch.uint8)
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point or uint8 image, got {x.dtype}")
    if x.shape[1] == 1:
        out = _sharpen_channels(x, amount, radius)
    else:
        ycc = rgb_to_ycbcr(x)
        luma = _sharpen_channels(ycc[:, :1], amount, radius)
        out = ycbcr_to_rgb(torch.cat((luma, ycc[:, 1:]), dim=1))
    return out.clamp(0.0, 1.0) if clip else out


class UnsharpMask(nn.Module):
    """Module form of :func:`unsharp_mask` with a fixed amount and radius.

    Args:
        amount: Strength ``γ``.
        radius: Standard deviation of the Gaussian, in pixels.
        clip: Clip a floating-point result to ``[0, 1]``.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, ``C`` in {1, 3}.
    """

    def __init__(self, amount: float, radius: float = 1.0, *, clip: bool = False) -> None:
        super().__init__()
        gaussian_taps(radius, torch.float64)  # validate early
        self.amount = amount
        self.radius = radius
        self.clip = clip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sharpen ``x`` (see :func:`unsharp_mask`)."""
        return unsharp_mask(x, self.amount, self.radius, clip=self.clip)

    def extra_repr(self) -> str:
        """Show the settings when the module is printed."""
        return f"amount={self.amount}, radius={self.radius}, clip={self.clip}"
