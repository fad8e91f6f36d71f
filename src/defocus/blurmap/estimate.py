"""``estimate_blur_map``: the library call behind ``defocus blurmap``."""

from __future__ import annotations

from collections.abc import Callable

import torch

from defocus.blurmap.gradient_ratio import BlurMap, gradient_ratio_blur_map
from defocus.blurmap.learned import learned_blur_map
from defocus.registry import Registry

ESTIMATORS: Registry[BlurMap] = Registry("blur-map estimator")
"""Registered estimators ``image -> BlurMap``; add one with ``@ESTIMATORS.register``."""
ESTIMATORS.register("gradient-ratio")(gradient_ratio_blur_map)
ESTIMATORS.register("learned")(learned_blur_map)
DEFAULT_ESTIMATOR = "gradient-ratio"
"""The estimator used by default (until the shipped network lands: docs/blur-maps.md);
``gradient-ratio`` is the classical baseline."""


def estimate_blur_map(image: torch.Tensor, method: str = DEFAULT_ESTIMATOR) -> BlurMap:
    """Blur radius (pixels) and defocus probability of every pixel.

    Args:
        image: Images in ``[0, 1]``, grey or RGB.
        method: A registered estimator (see :data:`ESTIMATORS`).

    Returns:
        The maps.

    Raises:
        DefocusError: For an unknown method.
        ValueError: For a bad image.

    Shape:
        ``(B, C, H, W)`` -> fields ``(B, 1, H, W)``.
    """
    estimator: Callable[[torch.Tensor], BlurMap] = ESTIMATORS.get(method)
    return estimator(image)
