"""``estimate_blur_map``: the library call behind ``defocus blurmap``."""

from __future__ import annotations

from collections.abc import Callable

import torch

from defocus.blurmap.gradient_ratio import BlurMap, gradient_ratio_blur_map
from defocus.blurmap.learned import SHIPPED_DETECTOR, SHIPPED_ESTIMATOR, learned_blur_map
from defocus.registry import Registry

ESTIMATORS: Registry[BlurMap] = Registry("blur-map estimator")
"""Registered estimators ``(image, precision) -> BlurMap``; add one with
``@ESTIMATORS.register``."""


@ESTIMATORS.register("learned")
def _learned(image: torch.Tensor, precision: str = "auto") -> BlurMap:
    """Radius: ``blurmap-unet-v1`` over the pyramid; probability: ``defocus-detector-v2``."""
    return learned_blur_map(image, SHIPPED_ESTIMATOR, precision, detector=SHIPPED_DETECTOR)


@ESTIMATORS.register("gwis-cnn")
def _gwis_cnn(image: torch.Tensor, precision: str = "auto") -> BlurMap:
    """The seed's CNN (shipped ``gwis-cnn-v1``) on luma at full resolution.

    Its radius is twice the best GWIS parameter (see :mod:`defocus.blurmap.gwis_targets`).
    """
    return learned_blur_map(image, "gwis-cnn-v1", precision, pyramid=False)


@ESTIMATORS.register("gradient-ratio")
def _gradient_ratio(image: torch.Tensor, precision: str = "auto") -> BlurMap:
    """:func:`gradient_ratio_blur_map` with default settings (always float64: no network)."""
    return gradient_ratio_blur_map(image)


DEFAULT_ESTIMATOR = "learned"
"""The estimator used by default: the shipped network (model card: docs/blur-maps.md);
``gradient-ratio`` is the classical baseline, ``gwis-cnn`` the seed's CNN."""


def estimate_blur_map(
    image: torch.Tensor, method: str = DEFAULT_ESTIMATOR, precision: str = "auto"
) -> BlurMap:
    """Blur radius (pixels) and defocus probability of every pixel.

    Args:
        image: Images in ``[0, 1]``, grey or RGB.
        method: A registered estimator (see :data:`ESTIMATORS`).
        precision: Arithmetic of a network estimator (``"auto"``, ``"fp32"``,
            ``"bf16"``, ``"fp16"``; see :mod:`defocus.runtime.precision`).

    Returns:
        The maps.

    Raises:
        DefocusError: For an unknown method.
        ValueError: For a bad image.

    Shape:
        ``(B, C, H, W)`` -> fields ``(B, 1, H, W)``.
    """
    estimator: Callable[[torch.Tensor, str], BlurMap] = ESTIMATORS.get(method)
    return estimator(image, precision)
