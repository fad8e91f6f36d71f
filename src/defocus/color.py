"""Colour conversions shared by metrics, losses and restoration (ITU-R BT.601)."""

from __future__ import annotations

import torch

_RGB_TO_Y = (0.299, 0.587, 0.114)


def to_luma(x: torch.Tensor) -> torch.Tensor:
    """Return the BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B``.

    A 1-channel input is taken as luma already and returned unchanged.

    Args:
        x: Image batch in ``[0, 1]``.

    Returns:
        The luma channel.

    Shape:
        ``(B, 1 or 3, H, W) -> (B, 1, H, W)``.
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    channels = x.shape[1]
    if channels == 1:
        return x
    if channels != 3:
        raise ValueError(f"expected 1 or 3 channels, got {channels}")
    weights = x.new_tensor(_RGB_TO_Y).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """Convert RGB to full-range BT.601 YCbCr (JPEG convention, chroma centred on 0.5).

    Shape:
        ``(B, 3, H, W) -> (B, 3, H, W)``.
    """
    r, g, b = x.unbind(dim=1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 0.5 + (b - y) * (0.5 / (1.0 - 0.114))
    cr = 0.5 + (r - y) * (0.5 / (1.0 - 0.299))
    return torch.stack((y, cb, cr), dim=1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Invert :func:`rgb_to_ycbcr`.

    Shape:
        ``(B, 3, H, W) -> (B, 3, H, W)``.
    """
    y, cb, cr = x.unbind(dim=1)
    r = y + (cr - 0.5) * (2.0 * (1.0 - 0.299))
    b = y + (cb - 0.5) * (2.0 * (1.0 - 0.114))
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    return torch.stack((r, g, b), dim=1)
