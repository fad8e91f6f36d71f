"""The model registry: build networks by name, optionally with pretrained weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

# the networks register themselves on import
import defocus.models.arknet
import defocus.models.ehnet
import defocus.models.tiny_unet
import defocus.models.wiener_unet
import defocus.models.xy_deblur  # noqa: F401
from defocus.errors import DefocusError
from defocus.models.protocol import MODELS, Deblurrer

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
"""Folder of the weights shipped with the package."""

SHIPPED_WEIGHTS: dict[str, str] = {"wiener-unet-defocus-v1": "wiener_unet_defocus_v1.safetensors"}
"""Registered names of shipped model weights → file name in :data:`WEIGHTS_DIR`.

Other subpackages ship weights in the same folder (e.g. LPIPS), so model weights are
listed here explicitly rather than found by globbing. ``wiener-unet-defocus-v1`` is the
default model (blind defocus removal on luma; model card: ``docs/default-model.md``).
"""


ARCHITECTURE_KEY = "architecture"
"""Safetensors metadata key naming a weights file's registered architecture."""
IN_CHANNELS_KEY = "in_channels"
"""Safetensors metadata key of the image channels (1 or 3) the weights take."""
OPTIONS_KEY = "model_options"
"""Safetensors metadata key of the constructor options (a JSON object), when not default."""


def architecture_metadata(
    architecture: str, in_channels: int, options: dict[str, object] | None = None
) -> dict[str, str]:
    """The metadata every weights file this project writes carries (export and trainer).

    With it, :func:`defocus.infer.loading.inspect_weights` builds the one architecture
    named (with its options) instead of trying every registered one.
    """
    metadata = {ARCHITECTURE_KEY: architecture, IN_CHANNELS_KEY: str(int(in_channels))}
    if options:
        metadata[OPTIONS_KEY] = json.dumps(options, sort_keys=True)
    return metadata


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


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], source: object) -> None:
    """Check that ``state`` fits ``model`` exactly and holds only finite numbers.

    Args:
        model: The network the weights are for.
        state: A state dict (e.g. read from a safetensors file).
        source: Where the weights come from, for the message.

    Raises:
        DefocusError: Naming ``source`` if keys or shapes differ from the model's
            (weights of another architecture), or a tensor holds NaN or infinity.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{key} {tuple(state[key].shape)} != {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", wrong)):
        if items:
            more = f", ... ({len(items)} in all)" if len(items) > 3 else ""
            problems.append(f"{label}: {', '.join(items[:3])}{more}")
    if problems:
        raise DefocusError(
            f"{source}: weights do not fit model {type(model).__name__} ({'; '.join(problems)})"
        )
    spoilt = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if spoilt:
        more = f", ... ({len(spoilt)} in all)" if len(spoilt) > 3 else ""
        raise DefocusError(
            f"{source}: weights contain NaN or infinite values ({', '.join(spoilt[:3])}{more})"
        )


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a safetensors state dict into ``model``, insisting on an exact match.

    Raises:
        DefocusError: Naming ``path`` if the file is not safetensors, or the weights
            do not pass :func:`check_state_dict`.
    """
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise DefocusError(f"{path}: not a readable safetensors file ({error})") from None
    check_state_dict(model, state, path)
    with torch.no_grad():
        model.load_state_dict(state, strict=True)
