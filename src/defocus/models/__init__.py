"""Deblurring networks and the model registry."""

from defocus.models.registry import (
    MODELS,
    create_model,
    list_models,
    list_pretrained,
    load_weights,
    resolve_weights,
)

__all__ = [
    "MODELS",
    "create_model",
    "list_models",
    "list_pretrained",
    "load_weights",
    "resolve_weights",
]
