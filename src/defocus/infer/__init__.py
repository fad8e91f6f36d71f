"""Inference: deblurring images of any size with tiling."""

from defocus.devices import resolve_device
from defocus.infer.deblur import AUTO_TILE, AUTO_TILE_PIXELS, MIN_SIDE, deblur
from defocus.infer.loading import DEFAULT_WEIGHTS, inspect_weights, load_model
from defocus.runtime.tiling import tile_spans, tiled_apply

__all__ = [
    "AUTO_TILE",
    "AUTO_TILE_PIXELS",
    "DEFAULT_WEIGHTS",
    "MIN_SIDE",
    "deblur",
    "inspect_weights",
    "load_model",
    "resolve_device",
    "tile_spans",
    "tiled_apply",
]
