"""Per-pixel blur (defocus) maps: estimation and scoring against defocus masks."""

from defocus.blurmap.gradient_ratio import BlurMap, gradient_ratio_blur_map
from defocus.blurmap.scores import defocus_scores

__all__ = ["BlurMap", "defocus_scores", "gradient_ratio_blur_map"]
