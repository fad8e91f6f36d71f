"""Data-parallel training through ``torchrun``; also works as a single plain process.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`setup` reads them
and joins the process group (gloo on the CPU, NCCL on CUDA). Without them the run is
a single process and every collective here is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from defocus.devices import resolve_device
from defocus.errors import DefocusError

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Where this process stands in the run.

    Attributes:
        rank: Global rank (0 writes all files).
        world_size: Number of processes.
        local_rank: Rank on this machine (selects the GPU).
        device: The device this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on the process that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise DefocusError(f"environment variable {name}={value!r} is not an integer") from None


def setup(device: str = "auto") -> Context:
    """Join the ``torchrun`` process group if there is one and pick the device.

    Args:
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.

    Returns:
        This process's :class:`Context`.

    Raises:
        DefocusError: If ``"cuda"`` is asked for but unavailable.
    """
    rank = _env_int("RANK", 0)
    world_size = _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", 0)
    try:
        use_cuda = resolve_device(device).type == "cuda"
    except DefocusError as exc:
        raise DefocusError(f"train.device: {exc}") from None
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Context(rank=rank, world_size=world_size, local_rank=local_rank, device=chosen)


def average_gradients(module: torch.nn.Module, context: Context) -> None:
    """Average ``module``'s gradients over all processes (what DDP does for the model).

    Used for networks trained alongside the model, which are called inside the model's
    loss too (frozen there) and so are not wrapped in DDP themselves.
    """
    if not context.distributed:
        return
    for parameter in module.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad.div_(context.world_size)


def teardown(context: Context) -> None:
    """Leave the process group (if this run joined one)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def leave_if_worker(code: int) -> None:
    """End a ``torchrun`` worker at once, without the interpreter's shutdown.

    After a complete run (its files written, the process group left), Gloo's C++
    threads could still abort a worker while the interpreter shut down (``terminate
    called without an active exception``, SIGABRT): the run was done, yet ``torchrun``
    reported it failed (seen in about one launch in five under a busy test suite).
    Standard streams are flushed first; nothing else is left to run. Returns at once
    in a process that ``torchrun`` did not launch with more than one worker.
    """
    if _env_int("WORLD_SIZE", 1) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def barrier(context: Context) -> None:
    """Wait until every process gets here."""
    if context.distributed:
        if context.device.type == "cuda":
            dist.barrier(device_ids=[context.local_rank])
        else:
            dist.barrier()


def shard(items: list[T], context: Context) -> list[T]:
    """This process's part of a global batch: every ``world_size``-th item from ``rank``.

    Raises:
        DefocusError: If the batch does not split evenly.
    """
    if len(items) % context.world_size:
        raise DefocusError(
            f"train.batch_size = {len(items)} does not split evenly over "
            f"{context.world_size} processes"
        )
    return items[context.rank :: context.world_size]


def broadcast_buffers(model: nn.Module, context: Context) -> None:
    """Copy rank 0's buffers (e.g. BatchNorm running statistics) to every process.

    DDP broadcasts buffers at the start of each forward pass, so after the last step
    the other ranks' statistics still differ; call this before saving or comparing.
    """
    if context.distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in state-dict order (bit-exact)."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def gather_digests(model: nn.Module, context: Context) -> list[str]:
    """Every process's :func:`weights_digest`, in rank order."""
    mine = weights_digest(model)
    if not context.distributed:
        return [mine]
    digests: list[str | None] = [None] * context.world_size
    dist.all_gather_object(digests, mine)
    return [str(d) for d in digests]


def check_replicas(digests: list[str]) -> str:
    """Return the common digest, or raise if the processes' weights differ.

    Raises:
        RuntimeError: Listing each rank's digest (a bug, not a user error).
    """
    if len(set(digests)) != 1:
        listing = ", ".join(f"rank {r}: {d[:12]}" for r, d in enumerate(digests))
        raise RuntimeError(f"replicas diverged: {listing}")
    return digests[0]
