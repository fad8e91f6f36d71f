"""The objective of a training stage: its loss terms plus the sharpness term ``-β · Q``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from defocus.losses import CompositeLoss

SHARPNESS_LOSS = "sharpness"
"""Registered loss whose value is ``-Q`` (lower is better), weighted by β."""


def stage_terms(loss: Sequence[Mapping[str, Any]], beta: float) -> list[dict[str, Any]]:
    """A stage's loss terms, with the sharpness term of weight ``beta`` appended if > 0."""
    terms = [dict(term) for term in loss]
    if beta > 0:
        terms.append({"name": SHARPNESS_LOSS, "weight": beta})
    return terms


def build_stage_loss(loss: Sequence[Mapping[str, Any]], beta: float) -> CompositeLoss:
    """The composite loss of a stage; calling it returns ``(total, {term: value})``."""
    return CompositeLoss(stage_terms(loss, beta))
