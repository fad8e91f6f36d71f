"""The training loop: stages, validation, best-checkpoint selection and exact resume.

Output folder layout (rank 0 writes everything)::

    OUT/config.json                  the resolved recipe
    OUT/summary.json                 per stage: best checkpoint, metric, weight digest;
                                     validation metrics of the degraded inputs
    OUT/<stage>/checkpoints/         step-XXXXXXXX.{safetensors,state.pt}, latest, best
    OUT/<stage>/log.csv              step, lr, losses, crops/s, validation metrics
    OUT/<stage>/curves.png           loss and metric curves
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from defocus.errors import DefocusError
from defocus.io import atomic_write_bytes
from defocus.losses import CompositeLoss
from defocus.metrics.base import create_metric
from defocus.models import AUXILIARY, load_weights, resolve_weights
from defocus.models.registry import architecture_metadata, check_state_dict
from defocus.runtime.precision import autocast_dtype
from defocus.train import distributed
from defocus.train.checkpoint import CheckpointDir, capture_rng, checkpoint_name, restore_rng
from defocus.train.config import (
    PREVIOUS_NETWORK,
    Config,
    NetworkConfig,
    StageConfig,
    TrainConfig,
    config_to_dict,
)
from defocus.train.data import ValidationPair, build_training_data, build_validation_pairs
from defocus.train.objective import build_stage_loss, stage_terms
from defocus.train.runlog import RunLog
from defocus.train.sampler import StepBatchSampler
from defocus.train.schedule import learning_rate
from defocus.train.task import (
    BLUR_MAP,
    RESTORE,
    create_network,
    lower_is_better,
    validate_blur_maps,
)


@dataclass
class StageResult:
    """How a stage ended.

    Attributes:
        name: Stage name.
        steps: Optimiser steps done.
        best: Path of the best weights (safetensors).
        best_value: Best validation value of ``train.best_metric`` (NaN without validation).
        digest: SHA-256 of the final weights (identical on every process).
    """

    name: str
    steps: int
    best: str
    best_value: float
    digest: str


@dataclass
class RunResult:
    """How a run ended.

    Attributes:
        stages: Results of the stages finished (including ones finished earlier).
        stopped_at: Global step at which ``train.stop_after`` stopped the run, or 0.
    """

    stages: list[StageResult] = field(default_factory=list)
    stopped_at: int = 0


@dataclass
class _Companion:
    """A network trained alongside the model in a stage (``[[stages.networks]]``)."""

    config: NetworkConfig
    network: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: CompositeLoss
    checkpoints: CheckpointDir
    peak: float


@dataclass
class _StageState:
    """What one stage carries from step to step (and into its checkpoints)."""

    stage: StageConfig
    folder: Path
    peak: float
    checkpoints: CheckpointDir
    log: RunLog
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loss_fn: CompositeLoss
    term_names: list[str]
    metric_columns: list[str]
    running: torch.Tensor
    running_steps: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"value": math.nan, "name": ""})
    companions: list[_Companion] = field(default_factory=list)


TRAINING_ROLES = ("restored", "reference", "blurry")
"""The images a stage's loss can always ask for (:data:`defocus.losses.ROLES`)."""
DATA_ROLES = ("blur_map", "defocus_mask")
"""The roles of further items of a training sample, in order: the realistic family
(``data.blur = "realistic"``) adds ``blur_map``, a blur-map run both."""
# What a checkpoint's training state must hold to resume from it (see Trainer._save).
RESUME_KEYS = ("step", "optimizer", "scaler", "rng", "best", "running", "running_steps")


def _declared(loss_fn: CompositeLoss, images: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The images of ``images`` that ``loss_fn``'s terms declare."""
    return {role: image for role, image in images.items() if role in loss_fn.inputs}


def training_dtype(settings: TrainConfig, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of the network's layers in training (``None``: float32).

    See :attr:`defocus.train.config.TrainConfig.precision`.
    """
    if settings.precision == "auto" and device.type == "cuda":
        return torch.float16 if settings.amp else None
    return autocast_dtype(settings.precision, device)


def existing_run(out: Path) -> Path | None:
    """A checkpoint pointer showing that ``out`` already holds a run, or ``None``."""
    return next(iter(sorted(out.glob("*/checkpoints/latest"))), None)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (global state, on purpose)
    torch.manual_seed(seed)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[speed]} crops/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


class Trainer:
    """Runs every stage of a recipe, resuming where a previous run stopped.

    Args:
        config: The validated recipe.
        out: Output folder (created).
        resume: Continue the run already in ``out``; without it an existing run is an
            error, never overwritten.
        context: Process placement; :func:`distributed.setup` is called when omitted.
    """

    def __init__(
        self,
        config: Config,
        out: str | Path,
        resume: bool = False,
        context: distributed.Context | None = None,
    ) -> None:
        self.config = config
        self.out = Path(out)
        self.resume = resume
        previous = existing_run(self.out)
        if previous is not None and not resume:
            raise DefocusError(
                f"{self.out}: already holds a training run ({previous}); pass --resume to "
                "continue it or choose another --out"
            )
        if previous is None and resume:
            raise DefocusError(
                f"{self.out}: no checkpoint to resume from (no run saved one there yet); "
                "drop --resume to start a new run"
            )
        self.context = context or distributed.setup(config.train.device)
        self.device = self.context.device
        self.half = training_dtype(config.train, self.device)
        self.scaled = self.half is torch.float16  # bfloat16 needs no gradient scaling
        _seed_everything(config.train.seed)
        model_config = config.model
        self.task = model_config.task
        self.model = create_network(
            self.task,
            model_config.name,
            model_config.in_channels,
            model_config.pretrained,
            **model_config.options,
        ).to(self.device)
        self.initial_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
        channels = model_config.in_channels
        blur_maps = self.task == BLUR_MAP
        self.train_data = build_training_data(config.data, config.train.seed, channels, blur_maps)
        self.val_pairs: list[ValidationPair] = build_validation_pairs(
            config.data, channels, blur_maps
        )
        first = self.train_data[(0, 0)]
        self.data_roles = TRAINING_ROLES + DATA_ROLES[: len(first) - 2]
        found = first[1].shape[0]
        if found != channels:
            raise DefocusError(
                f"{config.data.train}: images have {found} channels but model.in_channels = "
                f"{channels} (set data.luma = true to train on luma)"
            )
        self.metrics = {
            name: create_metric(name).to(self.device)
            for name in config.train.val_metrics
            if not blur_maps
        }
        self.lower_is_better = {
            name: lower_is_better(self.task, name) for name in config.train.val_metrics
        }
        if resume:
            self._check_resumable()
        if self.context.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            text = json.dumps(config_to_dict(config), indent=2) + "\n"
            atomic_write_bytes(self.out / "config.json", text.encode())
        distributed.barrier(self.context)

    def _check_resumable(self) -> None:
        """Read every stage's latest checkpoint before anything is written.

        Raises:
            DefocusError: If a state is unreadable or incomplete, or its weights are
                of another architecture or not finite.
        """
        for stage in self.config.stages:
            checkpoints = CheckpointDir(self.out / stage.name / "checkpoints")
            latest = checkpoints.latest()
            if latest is not None:
                weights, _ = checkpoints.load(latest, required=RESUME_KEYS)
                check_state_dict(self.model, weights, checkpoints.weights_path(latest))
                for network in stage.networks:
                    own = CheckpointDir(self.out / stage.name / network.name / "checkpoints")
                    weights, _ = own.load(latest, required=("optimizer",))
                    fresh = AUXILIARY.create(
                        network.model, in_channels=self.config.model.in_channels, **network.options
                    )
                    check_state_dict(fresh, weights, own.weights_path(latest))

    # ------------------------------------------------------------------ stages
    def run(self) -> RunResult:
        """Train every stage in turn; return how the run ended."""
        result = RunResult()
        offset = 0
        for index, stage in enumerate(self.config.stages):
            stage_result, stopped_at = self._run_stage(index, stage, offset)
            if stopped_at:
                result.stopped_at = stopped_at
                break
            result.stages.append(stage_result)
            offset += stage.steps
        if self.context.is_main:
            summary = {
                "stopped_at": result.stopped_at,
                "stages": [vars(s) for s in result.stages],
                "degraded_inputs": self.validate(identity=True) if self.val_pairs else {},
            }
            atomic_write_bytes(
                self.out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode()
            )
        return result

    def _start_weights(self, index: int, stage: StageConfig) -> dict[str, torch.Tensor]:
        mode = stage.init
        if mode == "auto":
            mode = "model" if index == 0 else "previous_best"
        if mode == "model":
            return self.initial_weights
        previous = CheckpointDir(self.out / self.config.stages[index - 1].name / "checkpoints")
        name = (previous.best() if mode == "previous_best" else None) or previous.latest()
        if name is None:
            raise DefocusError(f"{previous.folder}: no checkpoint to start stage {stage.name!r}")
        weights, _ = previous.load(name)
        return weights

    def _optimizer(self, peak: float, network: nn.Module | None = None) -> torch.optim.Optimizer:
        optim = self.config.optim
        cls = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
        return cls(
            (network or self.model).parameters(),
            lr=peak,
            betas=(optim.betas[0], optim.betas[1]),
            eps=optim.eps,
            weight_decay=optim.weight_decay,
        )

    def _open_stage(self, index: int, stage: StageConfig) -> tuple[_StageState, int]:
        """Build a stage's optimiser, loss and log; load its last checkpoint or start weights.

        Returns:
            The stage state and the number of steps already done.
        """
        config = self.config
        folder = self.out / stage.name
        peak = stage.lr or config.optim.lr
        loss_fn = self._stage_loss(stage, stage.name, stage.loss, stage.beta)
        companions = [self._companion(index, stage, network, peak) for network in stage.networks]
        trained = {c.config.name: c.network for c in companions}
        loss_fn.bind(trained)
        for companion in companions:
            companion.loss_fn.bind(trained)
        term_names = [term["name"] for term in stage_terms(stage.loss, stage.beta)]
        for companion in companions:  # logged as "<network>.loss" and "<network>.<term>"
            prefix = companion.config.name
            terms = [f"{prefix}.{term['name']}" for term in companion.config.loss]
            term_names += [f"{prefix}.loss", *terms]
        metric_columns = [f"val_{name}" for name in self.config.train.val_metrics]
        state = _StageState(
            stage=stage,
            folder=folder,
            peak=peak,
            checkpoints=CheckpointDir(folder / "checkpoints"),
            log=RunLog(
                folder / "log.csv",
                ["step", "lr", "loss", *term_names, "crops_per_s", *metric_columns],
            ),
            optimizer=self._optimizer(peak),
            scaler=torch.amp.GradScaler(self.device.type, enabled=self.scaled),
            loss_fn=loss_fn,
            term_names=term_names,
            metric_columns=metric_columns,
            running=torch.zeros(1 + len(term_names), dtype=torch.float64, device=self.device),
            companions=companions,
        )
        latest = state.checkpoints.latest() if self.resume else None
        if latest is None:
            self.model.load_state_dict(self._start_weights(index, stage))
            return state, 0
        for companion in companions:
            self._resume_companion(companion, latest)
        weights, saved = state.checkpoints.load(latest, required=RESUME_KEYS)
        source = state.checkpoints.weights_path(latest)
        check_state_dict(self.model, weights, source)
        self.model.load_state_dict(weights)
        try:
            state.optimizer.load_state_dict(saved["optimizer"])
            state.scaler.load_state_dict(saved["scaler"])
        except (ValueError, KeyError, TypeError) as exc:
            where = state.checkpoints.state_path(latest)
            raise DefocusError(f"{where}: optimiser state does not fit this run ({exc})") from None
        restore_rng(saved["rng"])
        state.best = dict(saved["best"])
        if self.context.is_main:  # the saved sums cover every rank (see _validate_and_save)
            state.running = saved["running"].to(self.device)
        state.running_steps = int(saved["running_steps"])
        start = int(saved["step"])
        state.log.restore(start)
        return state, start

    def _stage_loss(
        self, stage: StageConfig, owner: str, terms: list[dict[str, Any]], beta: float
    ) -> CompositeLoss:
        """A composite loss on the device, refusing roles the training data lacks."""
        loss_fn = build_stage_loss(terms, beta).to(self.device)
        missing = [role for role in loss_fn.inputs if role not in self.data_roles]
        if missing:
            raise DefocusError(
                f"stage {stage.name!r}: the loss of {owner} needs {', '.join(missing)}, which "
                f"the training data does not provide (it gives {', '.join(self.data_roles)})"
            )
        return loss_fn

    def _companion(
        self, index: int, stage: StageConfig, config: NetworkConfig, stage_peak: float
    ) -> _Companion:
        """Build a network trained alongside the model, with its optimiser and loss."""
        network = AUXILIARY.create(
            config.model, in_channels=self.config.model.in_channels, **config.options
        ).to(self.device)
        if config.pretrained == PREVIOUS_NETWORK:
            previous = self.out / self.config.stages[index - 1].name / config.name
            own = CheckpointDir(previous / "checkpoints")
            latest = own.latest()
            if latest is None:
                raise DefocusError(f"{own.folder}: no checkpoint to start network {config.name!r}")
            weights, _ = own.load(latest)
            check_state_dict(network, weights, own.weights_path(latest))
            network.load_state_dict(weights)
        elif config.pretrained:
            load_weights(network, resolve_weights(config.pretrained))
        peak = config.lr or stage_peak
        return _Companion(
            config=config,
            network=network,
            optimizer=self._optimizer(peak, network),
            loss_fn=self._stage_loss(stage, config.name, config.loss, 0.0),
            checkpoints=CheckpointDir(self.out / stage.name / config.name / "checkpoints"),
            peak=peak,
        )

    def _resume_companion(self, companion: _Companion, name: str) -> None:
        """Load a companion's weights and optimiser saved with the model's set ``name``."""
        weights, saved = companion.checkpoints.load(name, required=("optimizer",))
        check_state_dict(companion.network, weights, companion.checkpoints.weights_path(name))
        companion.network.load_state_dict(weights)
        try:
            companion.optimizer.load_state_dict(saved["optimizer"])
        except (ValueError, KeyError, TypeError) as exc:
            where = companion.checkpoints.state_path(name)
            raise DefocusError(f"{where}: optimiser state does not fit this run ({exc})") from None

    def _run_stage(self, index: int, stage: StageConfig, offset: int) -> tuple[StageResult, int]:
        """Run (or resume, or skip if finished) one stage; return its result and stop step."""
        config, context = self.config, self.context
        state, start = self._open_stage(index, stage)
        if start >= stage.steps:
            return self._finish_stage(state, start), 0
        if context.is_main:
            state.folder.mkdir(parents=True, exist_ok=True)
            if state.best["name"]:
                state.checkpoints.mark_best(state.best["name"])
        network: nn.Module = self.model
        if context.distributed:
            device_ids = [context.local_rank] if self.device.type == "cuda" else None
            network = DistributedDataParallel(self.model, device_ids=device_ids)
        self.model.train(not stage.freeze_model)  # a frozen model keeps its statistics
        for companion in state.companions:
            companion.network.train()
        sampler = StepBatchSampler(
            start,
            stage.steps,
            config.train.batch_size,
            len(self.train_data),
            config.train.seed,
            context,
        )
        loader = DataLoader(
            self.train_data,
            batch_sampler=sampler,
            num_workers=config.data.workers,
            pin_memory=self.device.type == "cuda",
        )
        timed_steps, timed = 0, 0.0
        show = context.is_main and config.train.progress and sys.stderr.isatty()
        with _progress(show) as progress:
            task = progress.add_task(
                stage.name, total=stage.steps, completed=start, loss="-", speed="-"
            )
            tick = time.perf_counter()
            for step, batch in zip(range(start, stage.steps), loader, strict=True):
                lr = learning_rate(step, stage.steps, state.peak, config.schedule)
                total = self._step(state, network, batch, lr)
                done = step + 1
                timed_steps += 1
                timed += time.perf_counter() - tick
                speed = config.train.batch_size * timed_steps / max(timed, 1e-9)
                if show:  # .item() waits for the GPU: only when there is a bar to update
                    progress.update(
                        task, completed=done, loss=f"{total.item():.4f}", speed=f"{speed:.1f}"
                    )
                if done % config.train.log_every == 0 or done == stage.steps:
                    self._log(state, done, lr, speed)
                    timed_steps, timed = 0, 0.0
                validate = bool(
                    config.train.val_every > 0
                    and self.val_pairs
                    and (done % config.train.val_every == 0 or done == stage.steps)
                )
                save = done % config.train.checkpoint_every == 0 or done == stage.steps
                if validate or save:
                    self._validate_and_save(state, done, validate, save)
                if config.train.stop_after and offset + done >= config.train.stop_after:
                    return self._stage_result(state, done), offset + done
                tick = time.perf_counter()
        return self._finish_stage(state, stage.steps), 0

    def _step(
        self,
        state: _StageState,
        network: nn.Module,
        batch: Sequence[torch.Tensor],
        lr: float,
    ) -> torch.Tensor:
        """One optimiser step; accumulates the loss terms for the log; returns the loss.

        ``batch`` is ``(blurry, sharp)`` or, from the realistic family,
        ``(blurry, sharp, blur_map)``.
        """
        for group in state.optimizer.param_groups:
            group["lr"] = lr
        blurry, sharp, *more = (t.to(self.device, non_blocking=True) for t in batch)
        images = {"blurry": blurry, **dict(zip(DATA_ROLES, more, strict=False))}
        frozen = state.stage.freeze_model
        with (
            torch.autocast(
                self.device.type, dtype=self.half or torch.float32, enabled=self.half is not None
            ),
            torch.set_grad_enabled(not frozen),
        ):
            restored = network(blurry)
        companion_values = []
        for companion in state.companions:  # first the networks trained alongside
            for group in companion.optimizer.param_groups:
                group["lr"] = lr * companion.peak / state.peak
            loss, parts = companion.loss_fn(
                restored.detach().float(), sharp, **_declared(companion.loss_fn, images)
            )
            companion.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            distributed.average_gradients(companion.network, self.context)
            clip = self.config.train.grad_clip
            if clip > 0:
                nn.utils.clip_grad_norm_(companion.network.parameters(), clip)
            companion.optimizer.step()
            companion_values += [loss.detach(), *(v.detach() for v in parts.values())]
        with torch.set_grad_enabled(not frozen):
            total, terms = state.loss_fn(
                restored.float(), sharp, **_declared(state.loss_fn, images)
            )
        if not frozen:
            state.optimizer.zero_grad(set_to_none=True)
            state.scaler.scale(total).backward()
            if self.config.train.grad_clip > 0:
                state.scaler.unscale_(state.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.grad_clip)
            state.scaler.step(state.optimizer)
            state.scaler.update()
        values = [total.detach(), *(terms[name].detach() for name in terms), *companion_values]
        state.running += torch.stack(values).double()
        state.running_steps += 1
        return total

    def _log(self, state: _StageState, done: int, lr: float, speed: float) -> None:
        """Write a CSV row with the loss terms averaged over the steps since the last one."""
        if self.context.distributed:
            torch.distributed.all_reduce(state.running)
        means = (state.running / (state.running_steps * self.context.world_size)).tolist()
        values: dict[str, float | str] = {"lr": lr, "loss": means[0]}
        values.update(zip(state.term_names, means[1:], strict=True))
        values["crops_per_s"] = speed
        state.log.update(done, values)
        state.running.zero_()
        state.running_steps = 0
        if self.context.is_main:
            state.log.save()

    def _validate_and_save(self, state: _StageState, done: int, validate: bool, save: bool) -> None:
        """On rank 0: validate, track the best, checkpoint, redraw; then all ranks meet."""
        distributed.broadcast_buffers(self.model, self.context)
        if self.context.distributed:  # rank 0 holds (and saves) the sums of every rank
            torch.distributed.all_reduce(state.running)
            if not self.context.is_main:
                state.running.zero_()
        if self.context.is_main:
            is_best = False
            if validate:
                scores = self.validate()
                state.log.update(done, {f"val_{k}": v for k, v in scores.items()})
                value = scores[self.config.train.best_metric]
                previous = state.best["value"]
                lower = self.lower_is_better[self.config.train.best_metric]
                is_best = math.isnan(previous) or (value < previous if lower else value > previous)
                if is_best:
                    state.best = {"value": value, "name": checkpoint_name(done)}
            if save or is_best:
                self._save(state, done)
                for checkpoints in (state.checkpoints, *(c.checkpoints for c in state.companions)):
                    if is_best:
                        checkpoints.mark_best(state.best["name"])
                    checkpoints.prune(self.config.train.keep_last)
            state.log.save()
            if self.config.train.plot and (validate or done == state.stage.steps):
                state.log.plot(
                    state.folder / "curves.png",
                    ["loss", *state.term_names],
                    state.metric_columns,
                )
        distributed.barrier(self.context)

    def _save(self, state: _StageState, done: int) -> None:
        saved = {
            "step": done,
            "stage": state.stage.name,
            "optimizer": state.optimizer.state_dict(),
            "scaler": state.scaler.state_dict(),
            "rng": capture_rng(),
            "best": dict(state.best),
            "running": state.running.cpu(),
            "running_steps": state.running_steps,
        }
        model = self.config.model
        metadata = {
            **architecture_metadata(model.name, model.in_channels, model.options),
            **({"task": model.task} if model.task != RESTORE else {}),
            "stage": state.stage.name,
            "step": str(done),
        }
        for companion in state.companions:  # saved first: "latest" of the model names both
            companion.checkpoints.save(
                done,
                companion.network.state_dict(),
                {"step": done, "optimizer": companion.optimizer.state_dict()},
                {
                    **architecture_metadata(
                        companion.config.model, model.in_channels, companion.config.options
                    ),
                    "stage": state.stage.name,
                    "step": str(done),
                },
            )
        state.checkpoints.save(done, self.model.state_dict(), saved, metadata)

    def _finish_stage(self, state: _StageState, done: int) -> StageResult:
        """Mark the final checkpoint best if nothing was validated; check the replicas."""
        if self.context.is_main and state.checkpoints.best() is None:
            latest = state.checkpoints.latest()
            if latest is not None:
                for checkpoints in (state.checkpoints, *(c.checkpoints for c in state.companions)):
                    checkpoints.mark_best(latest)
        distributed.barrier(self.context)
        return self._stage_result(state, done)

    def _stage_result(self, state: _StageState, done: int) -> StageResult:
        distributed.broadcast_buffers(self.model, self.context)
        digests = distributed.gather_digests(self.model, self.context)
        digest = (
            distributed.check_replicas(digests) if self.config.train.check_replicas else digests[0]
        )
        checkpoints = state.checkpoints
        best_name = checkpoints.best() or checkpoints.latest() or ""
        return StageResult(
            name=state.stage.name,
            steps=done,
            best=str(checkpoints.weights_path(best_name)) if best_name else "",
            best_value=float(state.best["value"]),
            digest=digest,
        )

    # -------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self, identity: bool = False) -> dict[str, float]:
        """Mean of each validation metric over the held-out images (full size).

        Args:
            identity: Score the degraded inputs themselves instead of the model's
                restorations (the baseline a network has to beat).

        Returns:
            Metric name → mean value.
        """
        training = self.model.training  # a frozen stage's model stays in eval mode
        if self.task == BLUR_MAP:
            if identity:
                return {}
            self.model.eval()
            scores = validate_blur_maps(self.model, self.val_pairs, self.device)
            self.model.train(training)
            return {name: scores[name] for name in self.config.train.val_metrics}
        self.model.eval()
        sums = dict.fromkeys(self.metrics, 0.0)
        for pair in self.val_pairs:
            blurry = pair.blurry.to(self.device)
            reference = pair.sharp.to(self.device)
            restored = blurry if identity else self.model(blurry).clamp(0, 1)
            images = {"restored": restored, "reference": reference, "blurry": blurry}
            for name, metric in self.metrics.items():
                sums[name] += float(metric(*(images[key] for key in metric.inputs)).mean())
        self.model.train(training)
        return {name: total / len(self.val_pairs) for name, total in sums.items()}


def train(config: Config, out: str | Path, resume: bool = False) -> RunResult:
    """Train ``config`` into ``out``; join/leave the ``torchrun`` process group if any.

    Args:
        config: The validated recipe (see :func:`defocus.train.load_config`).
        out: Output folder.
        resume: Continue the run in ``out`` from its last complete checkpoint.

    Returns:
        How the run ended.

    Raises:
        DefocusError: On bad data, a missing previous stage, or an existing run in
            ``out`` without ``resume``.
    """
    context = distributed.setup(config.train.device)
    try:
        result = Trainer(config, out, resume=resume, context=context).run()
        # Rank 0 still writes the summary after the last stage barrier; leaving the
        # process group while it does made the other rank abort at exit (gloo).
        distributed.barrier(context)
        return result
    finally:
        distributed.teardown(context)
