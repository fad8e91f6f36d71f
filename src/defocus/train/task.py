"""What a run trains: a restoration network (``"restore"``) or a blur-map network.

``[model] task`` selects the registry the model comes from and how it is validated:
restorations by image metrics (:mod:`defocus.metrics`), blur maps by the scores of
:data:`MAP_SCORES` on the held-out scenes (radius error where the scene has
structure) and held-out masked photos (Fβ and MAE of the defocus probability).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from defocus.blurmap.network import BLUR_MAP_NETWORKS, to_blur_map
from defocus.blurmap.scores import defocus_scores, radius_errors, structure_mask
from defocus.io.weights import load_weights
from defocus.metrics.base import create_metric, list_metrics
from defocus.models import create_model, list_models, resolve_weights
from defocus.train.pairs import ValidationPair

RESTORE, BLUR_MAP = "restore", "blur-map"
TASKS = (RESTORE, BLUR_MAP)
MAP_SCORES: dict[str, bool] = {
    "radius_error": True,
    "radius_relative_error": True,
    "f_beta": False,
    "mae": True,
}
"""Validation scores of a blur-map run → whether lower is better: the median absolute
radius error (px) where the true radius is at most 8 px, the median relative error
beyond, and the mean Fβ and MAE of the defocus probability against masks."""


def network_names(task: str) -> list[str]:
    """The networks a task can train, sorted."""
    return BLUR_MAP_NETWORKS.names() if task == BLUR_MAP else list_models()


def create_network(
    task: str, name: str, in_channels: int, pretrained: str = "", **options: object
) -> nn.Module:
    """Build the network of a run (random, or from ``pretrained`` weights).

    Raises:
        DefocusError: Unknown name or weights that do not fit.
    """
    if task != BLUR_MAP:
        return create_model(name, in_channels=in_channels, pretrained=pretrained or None, **options)
    network = BLUR_MAP_NETWORKS.create(name, in_channels=in_channels, **options)
    if pretrained:
        load_weights(network, resolve_weights(pretrained))
    return network


def metric_names(task: str) -> list[str]:
    """The validation metrics a task knows."""
    return list(MAP_SCORES) if task == BLUR_MAP else list_metrics()


def lower_is_better(task: str, name: str) -> bool:
    """Whether a lower validation value of ``name`` is better."""
    return MAP_SCORES[name] if task == BLUR_MAP else create_metric(name).lower_is_better


def _median(parts: list[torch.Tensor]) -> float:
    values = torch.cat(parts) if parts else torch.zeros(0)
    return float(values.median()) if values.numel() else math.nan


@torch.no_grad()
def validate_blur_maps(
    network: nn.Module,
    pairs: Sequence[ValidationPair],
    device: torch.device,
) -> dict[str, float]:
    """The :data:`MAP_SCORES` of ``network`` on validation pairs (NaN where none applies).

    Args:
        network: A blur-map network.
        pairs: :class:`~defocus.train.pairs.ValidationPair` items; those with a
            ``blur_map`` score the radius, those with a ``defocus_mask`` the probability.
        device: Where to run.
    """
    small: list[torch.Tensor] = []
    large: list[torch.Tensor] = []
    detection: dict[str, list[float]] = {"f_beta": [], "mae": []}
    for pair in pairs:
        estimate = to_blur_map(network(pair.blurry.to(device)))
        if pair.blur_map is not None:
            truth = pair.blur_map.to(device)
            where = structure_mask(pair.sharp.to(device)) & (truth >= 0)
            errors = radius_errors(estimate.radius, truth, where)
            small.append(errors[0].cpu())
            large.append(errors[1].cpu())
        if pair.defocus_mask is not None:
            scores = defocus_scores(estimate.probability, pair.defocus_mask.to(device))
            for key, values in detection.items():
                values.append(float(scores[key].mean()))
    return {
        "radius_error": _median(small),
        "radius_relative_error": _median(large),
        **{k: sum(v) / len(v) if v else math.nan for k, v in detection.items()},
    }
