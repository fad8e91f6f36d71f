"""Sensor noise: additive Gaussian, optionally on top of Poisson (shot) noise."""

from __future__ import annotations

import torch
from torch import nn


def _per_item(value: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A scalar or ``(B,)`` parameter as a ``(B or 1, 1, 1, 1)`` tensor like ``x``."""
    t = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        return t.view(1, 1, 1, 1)
    if t.shape != (x.shape[0],):
        raise ValueError(
            f"expected a scalar or one value per image ({x.shape[0]}), got {tuple(t.shape)}"
        )
    return t.view(-1, 1, 1, 1)


def add_noise(
    x: torch.Tensor,
    sigma: float | torch.Tensor,
    generator: torch.Generator | None = None,
    poisson_peak: float | torch.Tensor | None = None,
    clip: bool = False,
) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``sigma``, optionally after Poisson noise.

    With ``poisson_peak = p`` the clean signal is first replaced by
    ``Poisson(p · x) / p`` (``p`` photons at white, so shot noise has variance
    ``x / p``), then Gaussian read noise is added: the Poisson–Gaussian model
    ``y = Poisson(p x) / p + N(0, σ²)``.

    Args:
        x: Clean images in ``[0, 1]``.
        sigma: Gaussian standard deviation (in ``[0, 1]`` units), a scalar or one per
            image ``(B,)``.
        generator: Random generator (on ``x``'s device) for reproducible noise; the
            global generator when ``None``.
        poisson_peak: Photon count at value 1 (scalar or ``(B,)``); ``None`` for
            Gaussian noise only.
        clip: Clip the result to ``[0, 1]`` (as a real sensor would).

    Returns:
        The noisy images, same dtype as ``x``.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    noisy = x
    if poisson_peak is not None:
        peak = _per_item(poisson_peak, x)
        if not bool(((peak > 0) & peak.isfinite()).all()):
            raise ValueError(f"poisson_peak must be a finite positive number, got {poisson_peak}")
        rate = (x.clamp(min=0) * peak).expand_as(x).contiguous()
        noisy = torch.poisson(rate, generator=generator) / peak
    std = _per_item(sigma, x)
    if not bool(((std >= 0) & std.isfinite()).all()):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    if torch.is_grad_enabled() and (noisy.requires_grad or std.requires_grad):
        noisy = noisy + std * noise
        return noisy.clamp(0.0, 1.0) if clip else noisy
    # No autograd: reuse the noise buffer (one image-sized temporary instead of three).
    noisy = noise.mul_(std).add_(noisy)
    return noisy.clamp_(0.0, 1.0) if clip else noisy


class AddNoise(nn.Module):
    """Module form of :func:`add_noise` with fixed parameters.

    Args:
        sigma: Gaussian standard deviation.
        poisson_peak: Photon count at white for shot noise, or ``None``.
        clip: Clip the result to ``[0, 1]``.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, sigma: float, poisson_peak: float | None = None, clip: bool = False) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.poisson_peak = poisson_peak
        self.clip = clip

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return ``x`` with fresh noise drawn from ``generator``."""
        return add_noise(x, self.sigma, generator, self.poisson_peak, self.clip)

    def extra_repr(self) -> str:
        """Show the parameters."""
        return f"sigma={self.sigma}, poisson_peak={self.poisson_peak}, clip={self.clip}"
