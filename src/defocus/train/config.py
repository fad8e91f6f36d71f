"""Training configuration: TOML files loaded into strictly validated dataclasses.

A config file has the tables ``[model]``, ``[data]``, ``[optim]``, ``[schedule]``,
``[train]`` and an array ``[[stages]]`` (see ``configs/`` for complete examples). Every
key is checked: an unknown key, a value of the wrong type or a bad choice raises a
one-line :class:`~defocus.errors.DefocusError` naming the file (or the command-line
override) and the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from defocus.errors import DefocusError
from defocus.models import AUXILIARY
from defocus.tomlcompat import tomllib
from defocus.train.objective import build_stage_loss
from defocus.train.task import BLUR_MAP, TASKS, create_network, metric_names, network_names

PREVIOUS_NETWORK = "previous"
"""``NetworkConfig.pretrained`` value: continue the previous stage's network of that name."""


@dataclass
class ModelConfig:
    """Which network to train.

    Attributes:
        name: Registered model name (see ``defocus.models.list_models()``).
        in_channels: 1 to train on luma, 3 for RGB.
        pretrained: Weights to start from (a registered name or a safetensors path);
            empty for a random initialisation.
        options: Further constructor arguments of the model (e.g. ``widths = [16,
            32, 64]`` for ``wiener-unet``); recorded in every checkpoint's metadata so
            that the weights load with the same architecture.
        task: ``"restore"`` (a deblurring network of ``defocus.models``) or
            ``"blur-map"`` (a network of ``defocus.blurmap.BLUR_MAP_NETWORKS``, trained
            on the realistic family and ``data.masks``, validated by the scores of
            ``defocus.train.task.MAP_SCORES``).
    """

    name: str = "arknet"
    in_channels: int = 1
    pretrained: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    task: str = "restore"


@dataclass
class DataConfig:
    """Training and validation images.

    Attributes:
        source: ``"folder"`` (sharp photos in ``train``) or ``"generated"`` (small
            procedurally drawn scenes, for smoke tests; needs no files).
        train: Folder of sharp training images (relative paths are taken from the
            current directory); required when ``source = "folder"``.
        train_more: Further folders of sharp training photos (e.g. high-resolution
            ones besides CBSD432).
        train_more_holdout: The last this many photos (by name) of each ``train_more``
            folder are not trained on but validated on (after those of ``train``), so
            that they stay unseen photos of their kind for testing.
        val: Folder of held-out validation images; empty to hold out the last
            ``val_holdout`` images of ``train`` (by sorted name) instead.
        val_holdout: Images of ``train`` kept out of training for validation when
            ``val`` is empty.
        val_limit: At most this many validation images are scored (0 = all).
        blur: Degradation preset of :mod:`defocus.data` (e.g. ``"mmsp_box"``).
        crop: Side of the square training crops in pixels.
        luma: Train on BT.601 luma Y (``model.in_channels`` must then be 1).
        generated_images: Number of scenes when ``source = "generated"``.
        generated_size: Side of each generated scene in pixels.
        workers: DataLoader worker processes (0 loads in the training process).
        masks: For blur-map runs: a folder of real photos with defocus masks
            (``images/``, ``masks/``: the CUHK layout) trained on besides the
            realistic scenes; empty for none.
        masks_holdout: The last this many masked photos (by name) are held out for
            validation (at most ``val_limit`` of them scored).
        blur_mix: Further degradation presets mixed into training with ``blur``, in
            equal shares (item ``i`` of epoch ``e`` uses family ``(i + e) mod n``);
            the items are then ``(blurry, sharp)`` only (the realistic family's blur
            map is dropped). Validation uses ``blur`` alone.
        val_seed: Seed of the validation images' degradations (and of generated
            validation scenes), independent of ``train.seed``: runs that differ only
            in their seed are validated on the same degraded images, so their scores
            measure seed noise.
    """

    source: str = "folder"
    train: str = ""
    train_more: list[str] = field(default_factory=list)
    train_more_holdout: int = 0
    val: str = ""
    val_holdout: int = 8
    val_limit: int = 8
    blur: str = "mmsp_box"
    blur_mix: list[str] = field(default_factory=list)
    crop: int = 128
    luma: bool = True
    generated_images: int = 24
    generated_size: int = 64
    workers: int = 0
    masks: str = ""
    masks_holdout: int = 100
    val_seed: int = 0


@dataclass
class OptimConfig:
    """Optimiser.

    Attributes:
        name: ``"adam"`` or ``"adamw"``.
        lr: Peak learning rate.
        weight_decay: Weight decay (decoupled for AdamW, L2 for Adam).
        betas: Adam's two moment coefficients.
        eps: Adam's denominator epsilon.
    """

    name: str = "adam"
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, a pure function of the step (see :mod:`.schedule`).

    Attributes:
        name: ``"cosine"`` (decay to ``min_lr``), ``"step"`` (multiply by ``gamma``
            every ``step_size`` steps) or ``"constant"``.
        warmup_steps: Linear warm-up from 0 to the peak rate over this many steps.
        min_lr: Final rate of the cosine schedule.
        step_size: Period of the step schedule.
        gamma: Factor of the step schedule.
    """

    name: str = "cosine"
    warmup_steps: int = 0
    min_lr: float = 1e-12
    step_size: int = 1000
    gamma: float = 0.5


@dataclass
class TrainConfig:
    """Loop settings shared by all stages.

    Attributes:
        batch_size: Crops per optimiser step, summed over all processes.
        grad_clip: Clip the global gradient norm to this value (0 = no clipping).
        amp: Mixed precision on CUDA (float16 autocast and gradient scaling) when
            ``precision`` is ``"auto"``.
        precision: Arithmetic of the network's layers: ``"auto"`` (CUDA: float16 with
            gradient scaling when ``amp``; CPU: bfloat16 autocast where the CPU has
            native bfloat16 units, float32 elsewhere), ``"fp32"``, ``"bf16"``
            (autocast, no scaling needed) or ``"fp16"`` (autocast with gradient
            scaling). Losses, optimiser and weights stay in float32.
        seed: Seeds initialisation, data order and degradations.
        val_every: Validate every this many steps and at the end of a stage (0 = never).
        checkpoint_every: Checkpoint every this many steps and at the end of a stage.
        log_every: Write a CSV row every this many steps.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        val_metrics: Metrics computed on the validation images (registry names).
        best_metric: Validation metric that selects the best checkpoint (one of
            ``val_metrics``).
        keep_last: Number of recent checkpoints kept besides the best one.
        stop_after: Stop (as if killed) after this global step, without a final
            checkpoint; 0 = run to the end. A test hook for resuming.
        progress: Show a progress bar (rank 0, on stderr, when it is a terminal).
        plot: Redraw ``curves.png`` after each validation and at the end of a stage.
        check_replicas: In distributed runs, verify at the end of each stage that
            all processes hold bit-identical weights.
    """

    batch_size: int = 32
    grad_clip: float = 0.0
    amp: bool = True
    precision: str = "auto"
    seed: int = 0
    val_every: int = 1000
    checkpoint_every: int = 1000
    log_every: int = 50
    device: str = "auto"
    val_metrics: list[str] = field(default_factory=lambda: ["psnr", "ssim", "q", "omega"])
    best_metric: str = "psnr"
    keep_last: int = 2
    stop_after: int = 0
    progress: bool = True
    plot: bool = True
    check_replicas: bool = True


@dataclass
class NetworkConfig:
    """A network a stage trains alongside the main model, in alternation with it.

    Each step first updates this network on its own loss (the main model's output
    detached), then the main model on the stage's loss, in which terms naming this
    network (``network = "<name>"``) are computed through it, frozen. Example: the
    reblurring module of Nah et al. (``model = "reblur-module"``, ``loss =
    [{name = "reblur-module", network = "reblur"}]``) next to a deblurrer trained with
    ``[{name = "l1"}, {name = "reblur", weight = 1.0, network = "reblur"}]``.

    Attributes:
        name: Its name in loss terms; also its folder ``OUT/<stage>/<name>/``.
        model: A registered auxiliary network (``defocus.models.AUXILIARY``).
        options: Constructor arguments of the network (besides ``in_channels``, which
            is the main model's).
        loss: Its loss terms ``{name, weight, ...}``.
        lr: Its peak learning rate; 0 uses the stage's.
        pretrained: Safetensors weights (a path or a shipped name) to start from;
            ``"previous"`` for the last checkpoint of the network of the same name in
            the previous stage of this run (e.g. a reblurring module warmed up there);
            empty for a random start.
    """

    name: str = "reblur"
    model: str = "reblur-module"
    options: dict[str, Any] = field(default_factory=dict)
    loss: list[dict[str, Any]] = field(default_factory=list)
    lr: float = 0.0
    pretrained: str = ""


@dataclass
class StageConfig:
    """One training stage.

    Attributes:
        name: Stage name; also the sub-folder of the output folder.
        steps: Optimiser steps in this stage.
        loss: Loss terms ``{name, weight, ...}`` (extra keys are passed to the loss).
        beta: Weight β of the sharpness term: the stage minimises
            ``loss - β · Q``; 0 disables it.
        init: Starting weights: ``"previous_best"`` (best checkpoint of the previous
            stage), ``"previous_last"``, ``"model"`` (``model.pretrained`` or random) or
            ``"auto"`` (``"model"`` for the first stage, ``"previous_best"`` after).
        lr: Peak learning rate of this stage; 0 uses ``optim.lr``.
        networks: Networks trained alongside the model in this stage, each with its
            own optimiser, loss and checkpoints (see :class:`NetworkConfig`).
        freeze_model: Keep the model fixed: only the ``networks`` learn (e.g. a
            reblurring module's warm-up on the outputs of a trained deblurrer); its
            loss is still computed and logged.
    """

    name: str = "train"
    steps: int = 1000
    loss: list[dict[str, Any]] = field(default_factory=lambda: [{"name": "l1", "weight": 1.0}])
    beta: float = 0.0
    init: str = "auto"
    lr: float = 0.0
    networks: list[NetworkConfig] = field(default_factory=list)
    freeze_model: bool = False


@dataclass
class Config:
    """A complete training recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])


_CHOICES: dict[str, tuple[str, ...]] = {
    "model.task": TASKS,
    "data.source": ("folder", "generated"),
    "optim.name": ("adam", "adamw"),
    "schedule.name": ("cosine", "step", "constant"),
    "train.device": ("auto", "cpu", "cuda"),
    "train.precision": ("auto", "fp32", "bf16", "fp16"),
    "stages.init": ("auto", "previous_best", "previous_last", "model"),
}


def _type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    return names.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)


def _convert(hint: Any, value: Any, key: str, where: str) -> Any:
    """Check ``value`` against the type ``hint``; return it (ints widened to float)."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DefocusError(f"{where}: {key}: expected a table, got {_type_name(value)}")
        return _build(hint, value, key, where)
    if origin is list:
        if not isinstance(value, list):
            raise DefocusError(f"{where}: {key}: expected an array, got {_type_name(value)}")
        (item,) = typing.get_args(hint)
        return [_convert(item, v, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise DefocusError(f"{where}: {key}: expected a table, got {_type_name(value)}")
        for name, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                raise DefocusError(f"{where}: {key}.{name}: must be finite, got {item}")
        return dict(value)
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        raise DefocusError(
            f"{where}: {key}: expected {_type_name(hint())}, got {_type_name(value)} {value!r}"
        )
    if hint is float and not math.isfinite(value):
        raise DefocusError(f"{where}: {key}: must be a finite number, got {value}")
    return value


def _build(cls: type, table: dict[str, Any], prefix: str, where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in hints:
            known = ", ".join(hints)
            raise DefocusError(f"{where}: unknown key {full!r} (known here: {known})")
        kwargs[key] = _convert(hints[key], value, full, where)
    return cls(**kwargs)


def _check_values(config: Config, where: str) -> None:
    """Check choices, ranges and cross-field rules that types alone do not catch."""

    def fail(message: str) -> typing.NoReturn:
        raise DefocusError(f"{where}: {message}")

    for key, allowed in _CHOICES.items():
        section, name = key.split(".")
        objects = config.stages if section == "stages" else [getattr(config, section)]
        for obj in objects:
            if getattr(obj, name) not in allowed:
                fail(f"{key}: {getattr(obj, name)!r} is not one of {', '.join(allowed)}")
    positive = {
        "model.in_channels": config.model.in_channels,
        "data.crop": config.data.crop,
        "train.batch_size": config.train.batch_size,
        "train.log_every": config.train.log_every,
        "train.checkpoint_every": config.train.checkpoint_every,
        "optim.lr": config.optim.lr,
    }
    for key, value in positive.items():
        if value <= 0:
            fail(f"{key}: must be positive, got {value}")
    non_negative = {
        "train.val_every": config.train.val_every,
        "train.grad_clip": config.train.grad_clip,
        "train.stop_after": config.train.stop_after,
        "train.keep_last": config.train.keep_last,
        "data.val_limit": config.data.val_limit,
        "data.val_holdout": config.data.val_holdout,
        "data.train_more_holdout": config.data.train_more_holdout,
        "data.masks_holdout": config.data.masks_holdout,
        "data.workers": config.data.workers,
        "schedule.warmup_steps": config.schedule.warmup_steps,
        "optim.weight_decay": config.optim.weight_decay,
    }
    for key, value in non_negative.items():
        if value < 0:
            fail(f"{key}: must be >= 0, got {value}")
    if config.train.best_metric not in config.train.val_metrics:
        fail(f"train.best_metric: {config.train.best_metric!r} is not in train.val_metrics")
    if len(config.optim.betas) != 2 or not all(0 <= b < 1 for b in config.optim.betas):
        fail(f"optim.betas: expected two numbers in [0, 1), got {config.optim.betas}")
    if config.model.task == BLUR_MAP and config.data.blur != "realistic":
        fail('model.task = "blur-map" trains on data.blur = "realistic" (the scenes with maps)')
    if config.data.masks and config.model.task != BLUR_MAP:
        fail('data.masks: masked photos train blur-map networks only (model.task = "blur-map")')
    if config.data.luma and config.model.in_channels != 1:
        fail("data.luma = true needs model.in_channels = 1")
    if not config.stages:
        fail("stages: at least one [[stages]] table is required")
    names = [stage.name for stage in config.stages]
    for index, stage in enumerate(config.stages):
        if not stage.name or "/" in stage.name or stage.name.startswith("."):
            fail(f"stages[{index}].name: {stage.name!r} is not a valid folder name")
        if names.count(stage.name) > 1:
            fail(f"stages[{index}].name: {stage.name!r} is used twice")
        if stage.steps <= 0:
            fail(f"stages[{index}].steps: must be positive, got {stage.steps}")
        if stage.lr < 0 or stage.beta < 0:
            fail(f"stages[{index}]: lr and beta must be >= 0")
        if index == 0 and stage.init.startswith("previous"):
            fail("stages[0].init: the first stage has no previous stage")
        _check_networks(stage, index, config.stages[index - 1] if index else None, fail)
        if stage.freeze_model and not stage.networks:
            fail(f"stages[{index}].freeze_model: nothing would learn (no [[stages.networks]])")
        for term_index, term in enumerate(stage.loss):
            if not isinstance(term.get("name"), str):
                fail(f"stages[{index}].loss[{term_index}]: needs a string 'name'")
            if "weight" in term and (
                isinstance(term["weight"], bool) or not isinstance(term["weight"], int | float)
            ):
                fail(f"stages[{index}].loss[{term_index}].weight: expected a number")


def _check_networks(
    stage: StageConfig,
    index: int,
    previous: StageConfig | None,
    fail: typing.Callable[[str], typing.NoReturn],
) -> None:
    """Names, models, starting weights and loss references of a stage's networks."""
    names = [network.name for network in stage.networks]
    earlier = {network.name: network for network in previous.networks} if previous else {}
    for position, network in enumerate(stage.networks):
        where = f"stages[{index}].networks[{position}]"
        if not network.name or "/" in network.name or network.name.startswith("."):
            fail(f"{where}.name: {network.name!r} is not a valid folder name")
        if network.name == "checkpoints" or names.count(network.name) > 1:
            fail(f"{where}.name: {network.name!r} is reserved or used twice")
        if network.model not in AUXILIARY:
            known = ", ".join(AUXILIARY.names())
            fail(f"{where}.model: unknown {network.model!r} (known: {known})")
        if not network.loss:
            fail(f"{where}.loss: the network needs at least one loss term")
        if network.lr < 0:
            fail(f"{where}.lr: must be >= 0")
        if network.pretrained == PREVIOUS_NETWORK:
            before = earlier.get(network.name)
            if before is None or (before.model, before.options) != (
                network.model,
                network.options,
            ):
                fail(
                    f"{where}.pretrained: 'previous' needs a network {network.name!r} of the "
                    "same model and options in the previous stage"
                )
    for term in [*stage.loss, *(t for network in stage.networks for t in network.loss)]:
        wanted = term.get("network")
        if wanted is not None and wanted not in names:
            fail(
                f"stages[{index}]: loss term {term.get('name')!r} names network {wanted!r}, "
                f"which is not in stages[{index}].networks"
            )


def config_from_dict(table: dict[str, Any], where: str) -> Config:
    """Validate a parsed TOML document and build a :class:`Config`.

    Args:
        table: The parsed document.
        where: Source named in error messages (a file name, an override).

    Raises:
        DefocusError: On an unknown key, a wrong type or a bad value.
    """
    config = _build(Config, table, "", where)
    _check_values(config, where)
    return config


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"train.lr=1e-4"`` into a key path and a TOML value.

    The value is read as TOML (numbers, booleans, quoted strings, arrays); anything
    that is not valid TOML is taken as a plain string, so ``data.train=/some/path``
    works without quotes.

    Raises:
        DefocusError: If there is no ``=`` or the key is empty.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise DefocusError(f"override {text!r}: expected KEY=VALUE, e.g. train.lr=1e-4")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def _set_path(document: Any, path: list[str], value: Any, where: str) -> None:
    """Set ``value`` at ``path`` in a dict/list tree; list items by index or ``name``."""
    node = document
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            index = next(
                (
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, dict) and item.get("name") == part
                ),
                None,
            )
            if index is None and part.isdigit() and int(part) < len(node):
                index = int(part)
            if index is None:
                raise DefocusError(f"{where}: no item {part!r} in {'.'.join(path[:depth])}")
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise DefocusError(f"{where}: {'.'.join(path[:depth])} is not a table")


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    """Return ``config`` with ``KEY=VALUE`` overrides applied and re-validated.

    Keys are dotted paths; stages and loss terms are addressed by index or by name,
    e.g. ``stages.finetune.beta=0.01`` or ``stages.0.loss.0.weight=2``.

    Raises:
        DefocusError: Naming the override that is unknown or invalid.
    """
    for text in overrides:
        where = f"override {text!r}"
        path, value = parse_override(text)
        document = config_to_dict(config)
        _set_path(document, path, value, where)
        config = config_from_dict(document, where)
    return config


def load_config(path: str | os.PathLike[str], overrides: list[str] | None = None) -> Config:
    """Read a TOML training recipe and apply command-line overrides.

    Args:
        path: The ``.toml`` file.
        overrides: ``KEY=VALUE`` strings applied after the file (see
            :func:`apply_overrides`).

    Returns:
        The validated configuration.

    Raises:
        DefocusError: If the file is missing or is not valid TOML, or on an unknown
            key, a wrong type or a bad value (the message names the file or override).
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefocusError(f"{source}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefocusError(f"{source}: cannot read config ({exc})") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefocusError(f"{source}: invalid TOML ({exc})") from None
    config = config_from_dict(table, str(source))
    config = apply_overrides(config, list(overrides or []))
    check_names(config, str(source))
    return config


def check_names(config: Config, where: str) -> None:
    """Check that the model, loss and metric names exist in their registries.

    Every stage's loss is built once, so bad loss parameters are caught here too.

    Raises:
        DefocusError: Prefixed with ``where``.
    """
    model = config.model
    known_networks = network_names(model.task)
    if model.name not in known_networks:
        raise DefocusError(
            f"{where}: model.name: unknown model {model.name!r} for task {model.task!r} "
            f"(known: {', '.join(known_networks)})"
        )
    try:
        with torch.device("meta"):
            create_network(model.task, model.name, model.in_channels, **model.options)
    except (TypeError, ValueError) as exc:
        raise DefocusError(f"{where}: model.options: {exc}") from None
    known_metrics = metric_names(model.task)
    for name in config.train.val_metrics:
        if name not in known_metrics:
            raise DefocusError(
                f"{where}: train.val_metrics: unknown metric {name!r} "
                f"(known: {', '.join(known_metrics)})"
            )
    for index, stage in enumerate(config.stages):
        try:
            build_stage_loss(stage.loss, stage.beta)
            for network in stage.networks:
                build_stage_loss(network.loss, 0.0)
        except DefocusError as exc:
            raise DefocusError(f"{where}: stages[{index}].loss: {exc}") from None


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain nested dict of ``config`` (for saving beside a run as JSON)."""
    return dataclasses.asdict(config)
