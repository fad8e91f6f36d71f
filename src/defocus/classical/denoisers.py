"""Classical denoisers, vectorised in torch, used as priors by RED."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nl_means(
    x: torch.Tensor,
    sigma: float | torch.Tensor,
    patch_radius: int = 1,
    search_radius: int = 2,
    h: float = 0.4,
) -> torch.Tensor:
    """Non-local means (Buades, Coll & Morel 2005) over a small search window.

    Every pixel becomes the weighted mean of the pixels in its
    ``(2 search_radius + 1)²`` neighbourhood, with weights
    ``exp(-max(d² - 2σ², 0) / (h σ)²)``, ``d²`` the mean squared difference of the
    ``(2 patch_radius + 1)²`` patches around the two pixels (averaged over channels).
    All offsets are processed at once (``unfold``); borders are reflected.

    Args:
        x: Noisy images (any value scale; ``sigma`` on the same scale).
        sigma: Noise standard deviation (scalar, or ``(B,)``), ``> 0``.
        patch_radius: Half size of the compared patches.
        search_radius: Half size of the search window.
        h: Filtering strength relative to ``sigma``.

    Returns:
        The denoised images.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    b, c, height, width = x.shape
    window = 2 * search_radius + 1
    sigma_t = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    padded = F.pad(x, [search_radius] * 4, mode="reflect")
    # (B, C, K, H, W): the K = window² shifted copies of x
    shifted = F.unfold(padded, window).view(b, c, window * window, height, width)
    distance = (shifted - x.unsqueeze(2)).square().mean(dim=1)
    if patch_radius > 0:
        size = 2 * patch_radius + 1
        distance = F.avg_pool2d(
            F.pad(distance, [patch_radius] * 4, mode="replicate"), size, stride=1
        )
    excess = (distance - 2.0 * sigma_t.square()).clamp_min(0.0)
    weights = torch.exp(-excess / (h * sigma_t).square())
    numerator = (shifted * weights.unsqueeze(1)).sum(dim=2)
    return numerator / weights.sum(dim=1, keepdim=True)


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2 radius + 1)²`` window around each pixel, borders reflected.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    size = 2 * radius + 1
    padded = F.pad(x, [radius] * 4, mode="reflect")
    return F.avg_pool2d(F.avg_pool2d(padded, (1, size), stride=1), (size, 1), stride=1)


def guided_filter(
    x: torch.Tensor, sigma: float | torch.Tensor, radius: int = 2, strength: float = 1.0
) -> torch.Tensor:
    """Self-guided edge-preserving filter (He, Sun & Tang 2013) used as a denoiser.

    In each window the output is the local linear fit ``a x + b`` with
    ``a = var / (var + ε)``, ``ε = (strength · σ)²``: flat windows (variance near the
    noise variance) are averaged, edges (variance ≫ σ²) are kept. Coefficients are
    averaged over the windows covering a pixel, as in the original.

    Args:
        x: Noisy images (any value scale; ``sigma`` on the same scale).
        sigma: Noise standard deviation (scalar, or ``(B,)``), ``> 0``.
        radius: Window half size.
        strength: ``ε`` relative to ``σ²``.

    Returns:
        The filtered images.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    sigma_t = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    mean = box_mean(x, radius)
    variance = (box_mean(x.square(), radius) - mean.square()).clamp_min(0.0)
    a = variance / (variance + (strength * sigma_t).square())
    b = mean - a * mean
    return box_mean(a, radius) * x + box_mean(b, radius)
