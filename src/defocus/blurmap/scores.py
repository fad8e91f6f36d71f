"""Scores of a defocus probability map against a binary mask (blur-detection benchmarks)."""

from __future__ import annotations

import torch

BETA2 = 0.3
"""β² of the Fβ measure used by the defocus-detection literature (CUHK: Shi et al. 2014)."""


def defocus_scores(probability: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Fβ (β² = 0.3) of the probability thresholded at 0.5, and its MAE, per image.

    Args:
        probability: Defocus probability in ``[0, 1]`` (white = defocused).
        mask: Ground truth, 1 where the pixel is out of focus, 0 where in focus.

    Returns:
        ``{"f_beta": (B,), "mae": (B,), "precision": (B,), "recall": (B,)}``.

    Shape:
        ``(B, 1, H, W)`` each.
    """
    if probability.shape != mask.shape:
        raise ValueError(f"shapes differ: {tuple(probability.shape)} vs {tuple(mask.shape)}")
    predicted = (probability >= 0.5).flatten(1).double()
    truth = (mask >= 0.5).flatten(1).double()
    hits = (predicted * truth).sum(1)
    precision = hits / predicted.sum(1).clamp_min(1)
    recall = hits / truth.sum(1).clamp_min(1)
    f_beta = (1 + BETA2) * precision * recall / (BETA2 * precision + recall).clamp_min(1e-12)
    mae = (probability.double() - mask.double()).abs().flatten(1).mean(1)
    return {"f_beta": f_beta, "mae": mae, "precision": precision, "recall": recall}
