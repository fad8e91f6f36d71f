"""Deblurring networks and the model registry.

Registered models (``create_model(name, in_channels=1|3, pretrained=None|name|path)``):
``arknet`` (MMSP 2024 U-Net), ``xy-deblur`` (Ji et al. 2022), ``ehnet`` (Ho et al. 2024),
``wiener-unet`` (a Wiener bank fused by a small U-Net: the shipped default model's
architecture) and ``tiny-unet`` (a few thousand parameters, for tests and smoke runs). All take and
return ``(B, C, H, W)`` images of any size, and every one is a
:class:`~defocus.models.protocol.Deblurrer` (it states ``in_channels``, ``multiple``
and ``context``; ``wiener-unet`` is a :class:`~defocus.models.protocol.TwoStageDeblurrer`).
The reblurring module of Nah et al. lives
in :mod:`defocus.models.reblur` (it is a loss network, not a deblurrer); the shipped one,
matched to the default model, is read by :func:`load_reblur_module`.
"""

from defocus.models.export import export_reblur_module, export_weights
from defocus.models.protocol import Deblurrer, TwoStageDeblurrer, as_deblurrer
from defocus.models.reblur import AUXILIARY, ReblurModule, load_reblur_module
from defocus.models.registry import (
    MODELS,
    create_model,
    list_models,
    list_pretrained,
    load_weights,
    resolve_weights,
)

__all__ = [
    "AUXILIARY",
    "MODELS",
    "Deblurrer",
    "ReblurModule",
    "TwoStageDeblurrer",
    "as_deblurrer",
    "create_model",
    "export_reblur_module",
    "export_weights",
    "list_models",
    "list_pretrained",
    "load_reblur_module",
    "load_weights",
    "resolve_weights",
]
