"""Fast noise-level estimate of Immerkær (1996), shared by Wiener and mLM."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from defocus.errors import DefocusError

# Difference of two discrete Laplacians: cancels image structure up to second order.
_MASK = ((1.0, -2.0, 1.0), (-2.0, 4.0, -2.0), (1.0, -2.0, 1.0))


def estimate_noise_sigma(y: torch.Tensor) -> torch.Tensor:
    """Immerkær's estimate of the standard deviation of additive white Gaussian noise.

    ``σ̂ = sqrt(π/2) · Σ|y ⊛ M| / (6 (W-2)(H-2))`` with
    ``M = [[1,-2,1],[-2,4,-2],[1,-2,1]]``, summed over the valid interior only
    (no border handling), per image and channel.

    Args:
        y: Image batch (any value scale; the estimate is on the same scale).

    Returns:
        The estimated noise standard deviation per image and channel.

    Shape:
        ``(B, C, H, W) -> (B, C)`` with ``H, W >= 3``.

    Raises:
        DefocusError: If the image is smaller than 3x3.
    """
    if y.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(y.shape)}")
    b, c, h, w = y.shape
    if h < 3 or w < 3:
        raise DefocusError(f"image of size {h}x{w} is too small to estimate noise (need 3x3)")
    mask = torch.tensor(_MASK, dtype=y.dtype, device=y.device).view(1, 1, 3, 3)
    response = F.conv2d(y.reshape(b * c, 1, h, w), mask).abs()
    total = response.sum(dim=(-1, -2)).view(b, c)
    return total * (math.sqrt(math.pi / 2) / (6.0 * (w - 2) * (h - 2)))


def noise_to_signal_ratio(y: torch.Tensor, floor: float = 1e-6) -> torch.Tensor:
    """Noise-to-signal power ratio ``NSR = σ̂² / var(y)`` per image and channel.

    Args:
        y: Observed image batch.
        floor: Lower bound of the result (a noise-free image still gets a small
            positive ratio, which keeps the regularisation of Wiener and mLM stable).

    Returns:
        The ratio.

    Shape:
        ``(B, C, H, W) -> (B, C)``.
    """
    sigma = estimate_noise_sigma(y)
    variance = y.flatten(2).var(dim=-1).clamp_min(torch.finfo(y.dtype).tiny)
    return (sigma.square() / variance).clamp_min(floor)
