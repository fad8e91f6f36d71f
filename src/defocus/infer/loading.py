"""Resolve what the user names as a model ("default", shipped weights, a file) to a network."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from defocus.errors import DefocusError
from defocus.models import MODELS, create_model, list_models, resolve_weights
from defocus.models.protocol import Deblurrer
from defocus.models.registry import ARCHITECTURE_KEY, IN_CHANNELS_KEY, OPTIONS_KEY

DEFAULT_WEIGHTS: str | None = "wiener-unet-defocus-v2"
"""Shipped weights name (see :func:`defocus.models.list_pretrained`) used for ``"default"``.

The project's default model (model card: ``docs/default-model.md``); ``None`` would make
``"default"`` an error that says how to pass weights explicitly.
"""

SHARED_MODELS = 4
"""Networks :func:`shared_model` keeps loaded (least recently used dropped first)."""

NO_DEFAULT_MESSAGE = (
    "no default model weights are installed yet; pass trained weights explicitly with "
    "--model PATH.safetensors (Python: model='PATH.safetensors' or an nn.Module), "
    "see `defocus models`"
)


@dataclass
class WeightsInfo:
    """What a safetensors weights file holds, read from its header only.

    Attributes:
        path: The file.
        architecture: Registered model name whose state dict matches the file.
        in_channels: Image channels of that model (1 = luma, 3 = RGB).
        parameters: Trainable parameters of the model.
        size_bytes: File size.
        metadata: The file's string metadata (e.g. ``scores``), possibly empty.
        options: Constructor options of the architecture (from the metadata).
    """

    path: Path
    architecture: str
    in_channels: int
    parameters: int
    size_bytes: int
    metadata: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Tensor shapes and metadata of a safetensors file, without reading the tensors."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise DefocusError(f"{path}: not a readable safetensors file ({error})") from None
    return shapes, metadata


def meta_model(architecture: str, in_channels: int, **options: Any) -> Deblurrer:
    """Build a registered model on the meta device: shapes only, no memory, little time."""
    with torch.device("meta"):
        return MODELS.create(architecture, in_channels=in_channels, **options)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm running statistics are not counted)."""
    return sum(parameter.numel() for parameter in model.parameters())


def architecture_shapes(
    architecture: str, in_channels: int, **options: Any
) -> tuple[dict[str, tuple[int, ...]], int]:
    """State-dict shapes and trainable parameter count of a registered model."""
    model = meta_model(architecture, in_channels, **options)
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    return shapes, parameter_count(model)


def inspect_weights(path: str | Path) -> WeightsInfo:
    """Find which registered architecture and channel count a weights file belongs to.

    Files this project writes (exported weights and trainer checkpoints) name their
    architecture and channels in the metadata (:func:`~defocus.models.registry.
    architecture_metadata`): only that architecture is built, and the file must fit it.
    Files without that metadata are matched against every registered architecture with
    1 and 3 channels; the one whose state-dict keys and shapes fit exactly is chosen.

    Args:
        path: A ``.safetensors`` state dict.

    Returns:
        The architecture, channel count, size and metadata.

    Raises:
        DefocusError: Naming the file if it is unreadable or fits no architecture.
    """
    path = Path(path)
    shapes, metadata = _header(path)
    named = metadata.get(ARCHITECTURE_KEY)
    if named is not None:
        channels = metadata.get(IN_CHANNELS_KEY, "")
        if named not in MODELS or channels not in ("1", "3"):
            raise DefocusError(
                f"{path}: metadata names architecture {named!r} with in_channels "
                f"{channels!r}; known architectures: {', '.join(list_models())}, channels 1 or 3"
            )
        candidates = [(named, int(channels))]
        options = _options(path, metadata)
    else:  # weights written elsewhere: the architecture whose shapes fit
        candidates = [(name, channels) for name in list_models() for channels in (1, 3)]
        options = {}
    for architecture, channels in candidates:
        try:
            expected, parameters = architecture_shapes(architecture, channels, **options)
        except (TypeError, ValueError) as exc:
            message = f"{path}: metadata options do not fit {architecture} ({exc})"
            raise DefocusError(message) from None
        if expected == shapes:
            return WeightsInfo(
                path=path,
                architecture=architecture,
                in_channels=channels,
                parameters=parameters,
                size_bytes=path.stat().st_size,
                metadata=metadata,
                options=options,
            )
    if named is not None:
        raise DefocusError(
            f"{path}: weights do not fit the architecture its metadata names ({named}, "
            f"{metadata[IN_CHANNELS_KEY]} channel(s))"
        )
    known = ", ".join(list_models())
    raise DefocusError(f"{path}: weights fit none of the registered models ({known})")


def _options(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """The constructor options a weights file's metadata records (``{}`` if none)."""
    try:
        options = json.loads(metadata.get(OPTIONS_KEY, "{}"))
    except json.JSONDecodeError:
        options = None
    if not isinstance(options, dict):
        raise DefocusError(f"{path}: metadata {OPTIONS_KEY} is not a JSON object")
    return options


def weights_scores(info: WeightsInfo) -> dict[str, object]:
    """Scores stored in a weights file's ``scores`` metadata (a JSON object), or ``{}``."""
    try:
        scores = json.loads(info.metadata.get("scores", "{}"))
    except json.JSONDecodeError:
        return {}
    return scores if isinstance(scores, dict) else {}


def weights_file(model: str | Path) -> Path:
    """The weights file that ``model`` names (``"default"``, shipped weights or a path).

    Raises:
        DefocusError: If no default weights are installed yet, the name is an
            architecture without weights, or the weights cannot be found.
    """
    spec = str(model)
    if spec == "default":
        if DEFAULT_WEIGHTS is None:
            raise DefocusError(NO_DEFAULT_MESSAGE)
        spec = DEFAULT_WEIGHTS
    if spec in MODELS:
        raise DefocusError(
            f"model {spec!r} is an architecture without trained weights; pass a .safetensors "
            "file of trained weights or the name of shipped weights (see `defocus models`)"
        )
    return resolve_weights(spec)


def load_model(model: str | Path | nn.Module) -> nn.Module:
    """Return the network that ``model`` names, in eval mode (a new one each call).

    Args:
        model: ``"default"`` (the project's shipped default weights), the name of
            shipped weights, a path to a ``.safetensors`` file of a registered
            architecture, or an ``nn.Module`` (returned as is, switched to eval mode).

    Returns:
        The network in eval mode, on the CPU unless a module was given.

    Raises:
        DefocusError: If no default weights are installed yet, the name is an
            architecture without weights, or the weights cannot be found or used.
    """
    if isinstance(model, nn.Module):
        return model.eval()
    return _build(weights_file(model))


def _build(path: Path) -> Deblurrer:
    info = inspect_weights(path)
    network = create_model(
        info.architecture, in_channels=info.in_channels, pretrained=info.path, **info.options
    )
    return network.eval()


@functools.lru_cache(maxsize=SHARED_MODELS)
def _shared(path: Path, modified_ns: int, size: int) -> Deblurrer:
    """One network per weights file version (path, modification time, size)."""
    return _build(path)


def shared_model(model: str | Path | nn.Module) -> nn.Module:
    """Like :func:`load_model`, but a named network is read once and then reused.

    For inference (:func:`defocus.infer.deblur`), which never changes a network's
    weights: calling it on many images reads and checks the weights file once. A file
    replaced on disk (new modification time or size) is read again. Do not train or
    modify the returned network; use :func:`load_model` for a private copy.
    """
    if isinstance(model, nn.Module):
        return model.eval()
    path = weights_file(model).resolve()
    stat = path.stat()
    return _shared(path, stat.st_mtime_ns, stat.st_size)
