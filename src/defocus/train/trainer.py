"""The training loop: stages, validation, best-checkpoint selection and exact resume.

Output folder layout (rank 0 writes everything)::

    OUT/config.json                  the resolved recipe
    OUT/summary.json                 per stage: best checkpoint, metric, weight digest
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
from defocus.metrics.base import create_metric
from defocus.models import create_model
from defocus.train import distributed
from defocus.train.checkpoint import CheckpointDir, capture_rng, checkpoint_name, restore_rng
from defocus.train.config import Config, StageConfig, config_to_dict
from defocus.train.data import ValidationPair, build_training_data, build_validation_pairs
from defocus.train.losses import build_stage_loss, stage_terms
from defocus.train.runlog import RunLog
from defocus.train.sampler import StepBatchSampler
from defocus.train.schedule import learning_rate


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
        self.context = context or distributed.setup(config.train.device)
        self.device = self.context.device
        self.amp = config.train.amp and self.device.type == "cuda"
        _seed_everything(config.train.seed)
        model_config = config.model
        self.model = create_model(
            model_config.name,
            in_channels=model_config.in_channels,
            pretrained=model_config.pretrained or None,
        ).to(self.device)
        self.initial_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
        channels = model_config.in_channels
        self.train_data = build_training_data(config.data, config.train.seed, channels)
        self.val_pairs: list[ValidationPair] = build_validation_pairs(
            config.data, config.train.seed, channels
        )
        found = self.train_data[(0, 0)][1].shape[0]
        if found != channels:
            raise DefocusError(
                f"{config.data.train}: images have {found} channels but model.in_channels = "
                f"{channels} (set data.luma = true to train on luma)"
            )
        self.metrics = {
            name: create_metric(name).to(self.device) for name in config.train.val_metrics
        }
        if self.context.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            text = json.dumps(config_to_dict(config), indent=2) + "\n"
            atomic_write_bytes(self.out / "config.json", text.encode())
        distributed.barrier(self.context)

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

    def _optimizer(self, peak: float) -> torch.optim.Optimizer:
        optim = self.config.optim
        cls = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
        return cls(
            self.model.parameters(),
            lr=peak,
            betas=(optim.betas[0], optim.betas[1]),
            eps=optim.eps,
            weight_decay=optim.weight_decay,
        )

    def _run_stage(self, index: int, stage: StageConfig, offset: int) -> tuple[StageResult, int]:
        """Run (or resume, or skip if finished) one stage; return its result and stop step."""
        config, context = self.config, self.context
        stage_dir = self.out / stage.name
        checkpoints = CheckpointDir(stage_dir / "checkpoints")
        peak = stage.lr or config.optim.lr
        optimizer = self._optimizer(peak)
        scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        loss_fn = build_stage_loss(stage).to(self.device)
        term_names = [term["name"] for term in stage_terms(stage)]
        metric_columns = [f"val_{name}" for name in self.metrics]
        log = RunLog(
            stage_dir / "log.csv",
            ["step", "lr", "loss", *term_names, "crops_per_s", *metric_columns],
        )
        best_metric = config.train.best_metric
        lower_is_better = self.metrics[best_metric].lower_is_better
        best: dict[str, Any] = {"value": math.nan, "name": ""}

        latest = checkpoints.latest() if self.resume else None
        if latest is not None:
            weights, state = checkpoints.load(latest)
            self.model.load_state_dict(weights)
            optimizer.load_state_dict(state["optimizer"])
            scaler.load_state_dict(state["scaler"])
            restore_rng(state["rng"])
            best = dict(state["best"])
            start = int(state["step"])
            log.restore(start)
            running = state["running"].to(self.device)
            interval_steps = int(state["running_steps"])
        else:
            self.model.load_state_dict(self._start_weights(index, stage))
            start = 0
            running = torch.zeros(1 + len(term_names), dtype=torch.float64, device=self.device)
            interval_steps = 0
        if start >= stage.steps:
            return self._finish_stage(stage, checkpoints, start, best), 0
        if context.is_main:
            stage_dir.mkdir(parents=True, exist_ok=True)
            if best["name"]:
                checkpoints.mark_best(best["name"])

        network: nn.Module = self.model
        if context.distributed:
            device_ids = [context.local_rank] if self.device.type == "cuda" else None
            network = DistributedDataParallel(self.model, device_ids=device_ids)
        self.model.train()
        loader = DataLoader(
            self.train_data,
            batch_sampler=StepBatchSampler(
                start,
                stage.steps,
                config.train.batch_size,
                len(self.train_data),
                config.train.seed,
                context,
            ),
            num_workers=config.data.workers,
            pin_memory=self.device.type == "cuda",
        )
        timed_steps, interval_time = 0, 0.0
        show = context.is_main and config.train.progress and sys.stderr.isatty()
        progress = _progress(show)
        with progress:
            task = progress.add_task(
                stage.name, total=stage.steps, completed=start, loss="-", speed="-"
            )
            tick = time.perf_counter()
            for step, (blurry, sharp) in zip(range(start, stage.steps), loader, strict=True):
                lr = learning_rate(step, stage.steps, peak, config.schedule)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                blurry = blurry.to(self.device, non_blocking=True)
                sharp = sharp.to(self.device, non_blocking=True)
                with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                    restored = network(blurry)
                total, terms = loss_fn(restored.float(), sharp)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(total).backward()
                if config.train.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), config.train.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                done = step + 1
                running += torch.stack(
                    [total.detach().double()]
                    + [terms[name].detach().double() for name in term_names]
                )
                interval_steps += 1
                timed_steps += 1
                now = time.perf_counter()
                interval_time += now - tick
                speed = config.train.batch_size * timed_steps / max(interval_time, 1e-9)
                if show:  # .item() waits for the GPU: only when there is a bar to update
                    progress.update(
                        task, completed=done, loss=f"{total.item():.4f}", speed=f"{speed:.1f}"
                    )

                if done % config.train.log_every == 0 or done == stage.steps:
                    if context.distributed:
                        torch.distributed.all_reduce(running)
                    means = (running / (interval_steps * context.world_size)).tolist()
                    values: dict[str, float | str] = {"lr": lr, "loss": means[0]}
                    values.update(zip(term_names, means[1:], strict=True))
                    values["crops_per_s"] = speed
                    log.update(done, values)
                    running.zero_()
                    interval_steps, timed_steps, interval_time = 0, 0, 0.0
                    if context.is_main:
                        log.save()

                validate = (
                    config.train.val_every > 0
                    and self.val_pairs
                    and (done % config.train.val_every == 0 or done == stage.steps)
                )
                save = done % config.train.checkpoint_every == 0 or done == stage.steps
                if validate or save:
                    distributed.broadcast_buffers(self.model, context)
                    if context.is_main:
                        is_best = False
                        if validate:
                            scores = self.validate()
                            log.update(done, {f"val_{k}": v for k, v in scores.items()})
                            value = scores[best_metric]
                            previous = best["value"]
                            is_best = math.isnan(previous) or (
                                value < previous if lower_is_better else value > previous
                            )
                            if is_best:
                                best = {"value": value, "name": checkpoint_name(done)}
                        if save or is_best:
                            extra = {"running": running.cpu(), "running_steps": interval_steps}
                            self._save(checkpoints, stage, done, optimizer, scaler, best, extra)
                            if is_best:
                                checkpoints.mark_best(best["name"])
                            checkpoints.prune(config.train.keep_last)
                        log.save()
                        if config.train.plot and (validate or done == stage.steps):
                            log.plot(
                                stage_dir / "curves.png", ["loss", *term_names], metric_columns
                            )
                    distributed.barrier(context)
                if config.train.stop_after and offset + done >= config.train.stop_after:
                    return self._stage_result(stage, checkpoints, done, best), offset + done
                tick = time.perf_counter()
        return self._finish_stage(stage, checkpoints, stage.steps, best), 0

    def _save(
        self,
        checkpoints: CheckpointDir,
        stage: StageConfig,
        done: int,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        best: dict[str, Any],
        extra: dict[str, Any],
    ) -> None:
        state = {
            **extra,
            "step": done,
            "stage": stage.name,
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": capture_rng(),
            "best": dict(best),
        }
        metadata = {
            "model": self.config.model.name,
            "in_channels": str(self.config.model.in_channels),
            "stage": stage.name,
            "step": str(done),
        }
        checkpoints.save(done, self.model.state_dict(), state, metadata)

    def _finish_stage(
        self, stage: StageConfig, checkpoints: CheckpointDir, done: int, best: dict[str, Any]
    ) -> StageResult:
        """Mark the final checkpoint best if nothing was validated; check the replicas."""
        if self.context.is_main and checkpoints.best() is None:
            latest = checkpoints.latest()
            if latest is not None:
                checkpoints.mark_best(latest)
        distributed.barrier(self.context)
        return self._stage_result(stage, checkpoints, done, best)

    def _stage_result(
        self, stage: StageConfig, checkpoints: CheckpointDir, done: int, best: dict[str, Any]
    ) -> StageResult:
        distributed.broadcast_buffers(self.model, self.context)
        digests = distributed.gather_digests(self.model, self.context)
        digest = (
            distributed.check_replicas(digests) if self.config.train.check_replicas else digests[0]
        )
        best_name = checkpoints.best() or checkpoints.latest() or ""
        return StageResult(
            name=stage.name,
            steps=done,
            best=str(checkpoints.weights_path(best_name)) if best_name else "",
            best_value=float(best["value"]),
            digest=digest,
        )

    # -------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean of each validation metric over the held-out images (full size).

        Returns:
            Metric name → mean value.
        """
        self.model.eval()
        sums = dict.fromkeys(self.metrics, 0.0)
        for pair in self.val_pairs:
            blurry = pair.blurry.to(self.device)
            reference = pair.sharp.to(self.device)
            restored = self.model(blurry).clamp(0, 1)
            images = {"restored": restored, "reference": reference, "blurry": blurry}
            for name, metric in self.metrics.items():
                sums[name] += float(metric(*(images[key] for key in metric.inputs)).mean())
        self.model.train()
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
        return Trainer(config, out, resume=resume, context=context).run()
    finally:
        distributed.teardown(context)
