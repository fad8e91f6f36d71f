"""The loss of a training stage: its own terms plus the sharpness term ``-β · Q``."""

from __future__ import annotations

from typing import Any

from torch import nn

from defocus.train.config import StageConfig

SHARPNESS_LOSS = "sharpness"
"""Registered loss whose value is ``-Q`` (lower is better), weighted by β."""


def stage_terms(stage: StageConfig) -> list[dict[str, Any]]:
    """The stage's loss terms, with the sharpness term of weight β appended if β > 0."""
    terms = [dict(term) for term in stage.loss]
    if stage.beta > 0:
        terms.append({"name": SHARPNESS_LOSS, "weight": stage.beta})
    return terms


def build_stage_loss(stage: StageConfig) -> nn.Module:
    """The composite loss of ``stage``; calling it returns ``(total, {term: value})``."""
    from defocus.losses import CompositeLoss

    return CompositeLoss(stage_terms(stage))
