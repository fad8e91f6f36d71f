"""How networks run: numeric precision and tiling of large images (no model knowledge).

Used by inference (:mod:`defocus.infer`), training and the blur-map estimator alike,
so it sits below all of them.
"""

from defocus.runtime.precision import PRECISIONS, autocast_dtype, cpu_has_bf16, network_precision
from defocus.runtime.tiling import tile_spans, tiled_apply

__all__ = [
    "PRECISIONS",
    "autocast_dtype",
    "cpu_has_bf16",
    "network_precision",
    "tile_spans",
    "tiled_apply",
]
