"""Package trained weights for shipping: checked against the architecture, with metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from defocus.io import atomic_path
from defocus.models.reblur import AUXILIARY
from defocus.models.registry import architecture_metadata, create_model, load_weights


def export_weights(
    checkpoint: str | Path,
    destination: str | Path,
    architecture: str,
    in_channels: int = 1,
    scores: dict[str, object] | None = None,
    notes: dict[str, str] | None = None,
    options: dict[str, object] | None = None,
) -> Path:
    """Write a checkpoint's weights as a self-describing safetensors file (atomically).

    The weights are loaded into ``architecture`` first (so a file that does not fit the
    model is never shipped), then saved as float32 with the metadata keys that
    :func:`defocus.infer.loading.inspect_weights` and ``defocus models`` read:
    ``architecture``, ``in_channels``, ``scores`` (JSON) and any ``notes``.

    Args:
        checkpoint: A ``.safetensors`` state dict written by the trainer.
        destination: The file to write.
        architecture: Registered model name.
        in_channels: Image channels the weights were trained for.
        scores: Benchmark figures to show in ``defocus models`` (JSON-serialisable).
        notes: Further string metadata (training config, data, ...).
        options: Constructor options of the architecture (recorded in the metadata).

    Returns:
        ``destination`` as a path.

    Raises:
        DefocusError: If the checkpoint is unreadable or does not fit the model.
    """
    model = create_model(
        architecture, in_channels=in_channels, pretrained=checkpoint, **(options or {})
    )
    return _save(model, destination, architecture, in_channels, options, scores, notes)


def export_reblur_module(
    checkpoint: str | Path,
    destination: str | Path,
    in_channels: int = 1,
    scores: dict[str, object] | None = None,
    notes: dict[str, str] | None = None,
    options: dict[str, object] | None = None,
) -> Path:
    """:func:`export_weights` for a reblurring module (``reblur-module``, not a deblurrer).

    The file is what :func:`defocus.models.reblur.load_reblur_module` reads.

    Raises:
        DefocusError: If the checkpoint is unreadable or does not fit the module.
    """
    module = AUXILIARY.create("reblur-module", in_channels=in_channels, **(options or {}))
    load_weights(module, checkpoint)
    return _save(module, destination, "reblur-module", in_channels, options, scores, notes)


def _save(
    model: torch.nn.Module,
    destination: str | Path,
    architecture: str,
    in_channels: int,
    options: dict[str, object] | None,
    scores: dict[str, object] | None,
    notes: dict[str, str] | None,
) -> Path:
    tensors = {
        key: value.detach().to(torch.float32).contiguous()
        for key, value in model.state_dict().items()
    }
    metadata = {
        **architecture_metadata(architecture, in_channels, options),
        "scores": json.dumps(scores or {}, sort_keys=True),
        **(notes or {}),
    }
    destination = Path(destination)
    with atomic_path(destination) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return destination
