"""The model registry: build networks by name, optionally with pretrained weights."""

from __future__ import annotations

from pathlib import Path

# the networks register themselves on import
import defocus.models.arknet
import defocus.models.ehnet
import defocus.models.tiny_unet
import defocus.models.varying_unet
import defocus.models.wiener_unet
import defocus.models.xy_deblur  # noqa: F401
from defocus.errors import DefocusError
from defocus.io.weights import (
    ARCHITECTURE_KEY,
    IN_CHANNELS_KEY,
    OPTIONS_KEY,
    WEIGHTS_DIR,
    architecture_metadata,
    check_state_dict,
    load_weights,
)
from defocus.models.protocol import MODELS, Deblurrer

__all__ = [
    "ARCHITECTURE_KEY",
    "IN_CHANNELS_KEY",
    "OPTIONS_KEY",
    "SHIPPED_WEIGHTS",
    "WEIGHTS_DIR",
    "architecture_metadata",
    "check_state_dict",
    "create_model",
    "list_models",
    "list_pretrained",
    "load_weights",
    "resolve_weights",
]

SHIPPED_WEIGHTS: dict[str, str] = {
    "wiener-unet-defocus-v1": "wiener_unet_defocus_v1.safetensors",
    "wiener-unet-defocus-v2": "wiener_unet_defocus_v2.safetensors",
}
"""Registered names of shipped model weights → file name in :data:`WEIGHTS_DIR`.

Other subpackages ship weights in the same folder (e.g. LPIPS), so model weights are
listed here explicitly rather than found by globbing. ``wiener-unet-defocus-v2`` is the
default model (spatially varying defocus removal on luma; model card:
``docs/default-model.md``); ``wiener-unet-defocus-v1`` its predecessor (one blur per
image; ``docs/model-v1.md``).
"""


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return MODELS.names()


def list_pretrained() -> list[str]:
    """Names of the shipped model weights usable as ``pretrained``, sorted."""
    return sorted(SHIPPED_WEIGHTS)


def create_model(
    name: str, in_channels: int = 1, pretrained: str | Path | None = None, **kwargs: object
) -> Deblurrer:
    """Build the model registered as ``name``.

    Args:
        name: A name from :func:`list_models` (``"arknet"``, ``"xy-deblur"``, ``"ehnet"``,
            ``"tiny-unet"``).
        in_channels: Image channels, 1 (luma) or 3 (RGB).
        pretrained: ``None`` for random initialisation, a path to a ``.safetensors``
            state dict, or the name of shipped weights (see :func:`list_pretrained`).
        **kwargs: Further constructor arguments of the model.

    Returns:
        The model (in training mode, on the CPU).

    Raises:
        DefocusError: Unknown model or weights name, unreadable weights file, or weights
            that do not fit the model.
    """
    if in_channels not in (1, 3):
        raise DefocusError(f"in_channels must be 1 or 3, got {in_channels}")
    model = MODELS.create(name, in_channels=in_channels, **kwargs)
    if pretrained is not None:
        load_weights(model, resolve_weights(pretrained))
    return model


def resolve_weights(pretrained: str | Path) -> Path:
    """Turn ``pretrained`` (a path or a shipped weights name) into a file path.

    Raises:
        DefocusError: If it is neither an existing file nor a shipped name.
    """
    path = Path(pretrained)
    if path.is_file():
        return path
    if path.exists():
        raise DefocusError(f"{path}: is not a weights file (expected a .safetensors file)")
    if path.suffix == ".safetensors" or len(path.parts) > 1:
        raise DefocusError(f"{path}: weights file not found")
    if str(pretrained) in SHIPPED_WEIGHTS:
        return WEIGHTS_DIR / SHIPPED_WEIGHTS[str(pretrained)]
    available = ", ".join(list_pretrained()) or "none"
    raise DefocusError(
        f"unknown pretrained weights {str(pretrained)!r}: not a file and not a shipped name "
        f"(available: {available})"
    )
