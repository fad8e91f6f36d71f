"""Per-pixel blur (defocus) maps: estimation and scoring against defocus masks."""

from defocus.blurmap.estimate import DEFAULT_ESTIMATOR, ESTIMATORS, estimate_blur_map
from defocus.blurmap.gradient_ratio import BlurMap, gradient_ratio_blur_map
from defocus.blurmap.learned import (
    SHIPPED_DETECTOR,
    SHIPPED_ESTIMATOR,
    detect_defocus,
    learned_blur_map,
    load_estimator,
)
from defocus.blurmap.network import (
    BLUR_MAP_NETWORKS,
    BlurMapNetwork,
    BlurMapUNet,
    GwisBlurCNN,
    to_blur_map,
)
from defocus.blurmap.scores import defocus_scores, radius_errors, structure_mask

__all__ = [
    "BLUR_MAP_NETWORKS",
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "SHIPPED_DETECTOR",
    "SHIPPED_ESTIMATOR",
    "BlurMap",
    "BlurMapNetwork",
    "BlurMapUNet",
    "GwisBlurCNN",
    "defocus_scores",
    "detect_defocus",
    "estimate_blur_map",
    "gradient_ratio_blur_map",
    "learned_blur_map",
    "load_estimator",
    "radius_errors",
    "structure_mask",
    "to_blur_map",
]
