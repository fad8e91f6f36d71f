"""Training targets of the seed's blur-level CNN (Nasonov, Krylov & Lyukov, §4.2).

A blurred, noisy image is sharpened by GWIS with every blur parameter of
:data:`GWIS_PARAMETERS`; at each pixel the best parameter is the one whose result has
the highest SSIM with the reference on the 11x11 patch around the pixel, and the
pixel's importance is the spread (max - min) of those SSIMs. Only the most important
1 % of each image's pixels are kept: elsewhere (flat areas, texture) the parameter
hardly matters. The CNN learns the logarithm of the best parameter with a squared
error; here, to share the blur-map contract, the target is the radius ``2 σ`` of the
disk with the same second moment as a Gaussian of the best ``σ``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from defocus.classical.gwis import gwis
from defocus.degrade import add_noise, blur, disk_kernel, gaussian_kernel, ring_kernel
from defocus.metrics.fidelity import ssim_map

GWIS_PARAMETERS = tuple(0.5 * k for k in range(1, 17))
"""The seed's sweep of GWIS blur parameters: 0.5, 1.0, ..., 8.0."""
PATCH = 11
"""Side of the patch whose SSIM judges a parameter at a pixel."""
IMPORTANT_FRACTION = 0.01
"""Fraction of each image's pixels kept as training targets."""


MAX_LEVEL = 6.0
"""Largest blur level of the seed's degradations (σ of a Gaussian, radius of a disk or ring)."""
MAX_NOISE_VARIANCE = 10.0
"""Largest Gaussian noise variance of the seed's degradations (0..255 scale)."""


def seed_degradation(
    sharp: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """One degradation of the seed's dataset and Table 1: uniform blur, noise, 8 bits.

    A Gaussian of σ = level, a disk or a ring of radius = level (level uniform in
    ``[0, 6]``, the family uniform among the three), Gaussian noise of variance uniform
    in ``[0, 10]`` on the 0..255 scale, rounded to 8 bits.

    Returns:
        The degraded image, the PSF, and a label such as ``"disk:4.38, noise σ 2.33"``.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    kind = ("gaussian", "disk", "ring")[int(rng.integers(0, 3))]
    level = float(rng.uniform(0, MAX_LEVEL))
    kernel = {"gaussian": gaussian_kernel, "disk": disk_kernel, "ring": ring_kernel}[kind](level)
    sigma = float(np.sqrt(rng.uniform(0, MAX_NOISE_VARIANCE))) / 255
    generator = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
    noisy = add_noise(blur(sharp, kernel), sigma, generator, clip=True)
    label = f"{kind}:{level:.2f}, noise σ {sigma * 255:.2f}"
    return (noisy * 255).round() / 255, kernel, label


def gwis_parameter_targets(
    blurry: torch.Tensor,
    reference: torch.Tensor,
    parameters: tuple[float, ...] = GWIS_PARAMETERS,
    fraction: float = IMPORTANT_FRACTION,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best GWIS parameter of each pixel and the mask of the pixels that are kept.

    Args:
        blurry: Degraded images in ``[0, 1]`` (grey or RGB; GWIS works on luma).
        reference: Their sharp references.
        parameters: The GWIS blur parameters tried.
        fraction: Share of each image's pixels kept (by importance).

    Returns:
        ``(best, kept)``: the best parameter σ of every pixel (pixels closer than
        ``PATCH // 2`` to the border have none and are never kept) and a boolean mask
        of the kept pixels.

    Shape:
        ``(B, C, H, W)`` twice -> ``(B, 1, H, W)`` twice.
    """
    scores = []
    for sigma in parameters:
        sharpened = gwis(blurry, sigma)
        local = ssim_map(sharpened, reference, PATCH, sigma=None).mean(1, keepdim=True)
        scores.append(F.pad(local, (PATCH // 2,) * 4, value=float("nan")))
    stack = torch.cat(scores, dim=1)  # (B, P, H, W)
    valid = stack[:, :1].isfinite()
    filled = torch.nan_to_num(stack, nan=0.0)
    best_index = filled.argmax(dim=1, keepdim=True)
    best = torch.tensor(parameters, dtype=blurry.dtype, device=blurry.device)[best_index]
    importance = torch.where(
        valid, filled.amax(1, keepdim=True) - filled.amin(1, keepdim=True), -1.0
    )
    count = max(1, round(fraction * importance[0].numel()))
    threshold = importance.flatten(1).topk(count, dim=1).values[:, -1].view(-1, 1, 1, 1)
    kept = valid & (importance >= threshold) & (importance > 0)
    return best, kept
