"""Weights files: the metadata this project writes into them, and strict loading.

Every safetensors file the project writes (exported models, trainer checkpoints,
blur-map estimators) names its architecture in its metadata; :func:`load_weights`
loads a file into a network only when keys and shapes match exactly and every number
is finite. Files are never unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from defocus.errors import DefocusError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
"""Folder of the weights shipped with the package (models, LPIPS, blur-map estimator)."""

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


def weights_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a safetensors file, read from its header only.

    Raises:
        DefocusError: Naming ``path`` if it is not a readable safetensors file.
    """
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise DefocusError(f"{path}: not a readable safetensors file ({error})") from None


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
