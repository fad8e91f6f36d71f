"""Per-pixel blur (defocus) maps: estimation and scoring against defocus masks."""

from defocus.blurmap.estimate import ESTIMATORS, estimate_blur_map
from defocus.blurmap.gradient_ratio import BlurMap, gradient_ratio_blur_map
from defocus.blurmap.scores import defocus_scores

__all__ = [
    "ESTIMATORS",
    "BlurMap",
    "defocus_scores",
    "estimate_blur_map",
    "gradient_ratio_blur_map",
]
