"""Scores of a defocus probability map against a binary mask (blur-detection benchmarks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from defocus.color import to_luma
from defocus.edges import sobel_gradient

BETA2 = 0.3
"""β² of the Fβ measure used by the defocus-detection literature (CUHK: Shi et al. 2014)."""


def defocus_scores(
    probability: torch.Tensor, mask: torch.Tensor, known: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Fβ (β² = 0.3) of the probability thresholded at 0.5, and its MAE, per image.

    Args:
        probability: Defocus probability in ``[0, 1]`` (white = defocused).
        mask: Ground truth, 1 where the pixel is out of focus, 0 where in focus.
        known: 1 where the ground truth is known; pixels at 0 count nowhere (default:
            known everywhere).

    Returns:
        ``{"f_beta": (B,), "mae": (B,), "precision": (B,), "recall": (B,)}``.

    Shape:
        ``(B, 1, H, W)`` each.
    """
    known = torch.ones_like(mask) if known is None else known
    if probability.shape != mask.shape or known.shape != mask.shape:
        raise ValueError(
            f"shapes differ: {tuple(probability.shape)}, {tuple(mask.shape)}, {tuple(known.shape)}"
        )
    weight = (known >= 0.5).flatten(1).double()
    predicted = (probability >= 0.5).flatten(1).double() * weight
    truth = (mask >= 0.5).flatten(1).double() * weight
    hits = (predicted * truth).sum(1)
    precision = hits / predicted.sum(1).clamp_min(1)
    recall = hits / truth.sum(1).clamp_min(1)
    f_beta = (1 + BETA2) * precision * recall / (BETA2 * precision + recall).clamp_min(1e-12)
    error = (probability.double() - mask.double()).abs().flatten(1) * weight
    mae = error.sum(1) / weight.sum(1).clamp_min(1)
    return {"f_beta": f_beta, "mae": mae, "precision": precision, "recall": recall}


STRUCTURE_GRADIENT = 0.02
"""Sobel gradient (per pixel, on luma) from which a pixel of the reference has structure."""
SMALL_RADIUS = 8.0
"""Radii up to this (pixels) are scored by their absolute error, larger ones relatively."""


def structure_mask(reference: torch.Tensor) -> torch.Tensor:
    """Pixels within 2 px of a luma gradient of at least 0.02 in the all-in-focus image.

    Blur can be measured only where the scene has structure; on a flat region every
    radius gives the same image.

    Shape:
        ``(B, C, H, W)`` -> ``(B, 1, H, W)`` booleans.
    """
    luma = reference if reference.shape[1] == 1 else to_luma(reference)
    gx, gy = sobel_gradient(luma.double())
    strong = (torch.sqrt(gx**2 + gy**2) >= STRUCTURE_GRADIENT).double()
    return F.max_pool2d(strong, 5, stride=1, padding=2) > 0


def radius_errors(
    radius: torch.Tensor, truth: torch.Tensor, where: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Absolute errors (pixels) where ``truth <= 8`` and relative errors beyond, at ``where``.

    Returns:
        The two flat tensors of errors (possibly empty).

    Shape:
        ``(B, 1, H, W)`` each -> ``(N,)``, ``(M,)``.
    """
    error = (radius.double() - truth.double()).abs()
    small = where & (truth <= SMALL_RADIUS)
    large = where & (truth > SMALL_RADIUS)
    return error[small], (error / truth.double().clamp_min(1e-6))[large]
