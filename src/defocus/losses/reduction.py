"""Reduction of per-pixel loss values to per-image values and to a batch value."""

from __future__ import annotations

import torch

REDUCTIONS = ("mean", "sum", "none")
"""Accepted ``reduction`` arguments of every loss."""


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of :data:`REDUCTIONS`.

    Raises:
        ValueError: Naming the accepted values.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    return reduction


def reduce_per_image(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Average over all but the batch dimension, then reduce over the batch.

    ``"none"`` gives one value per image; ``"mean"`` their mean (equal to the mean over
    all elements, since every image has the same size); ``"sum"`` their sum.

    Args:
        values: Pointwise loss values.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The reduced loss.

    Shape:
        - values: :math:`(B, ...)`.
        - Output: :math:`()` for ``"mean"`` and ``"sum"``, :math:`(B,)` for ``"none"``.
    """
    per_image = values.flatten(1).mean(dim=1)
    return reduce_batch(per_image, reduction)


def reduce_batch(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-image values ``(B,)`` with ``reduction`` (see :func:`reduce_per_image`)."""
    check_reduction(reduction)
    if reduction == "mean":
        return per_image.mean()
    if reduction == "sum":
        return per_image.sum()
    return per_image
