"""Crash-safe checkpoints: safetensors weights plus a ``weights_only`` training state.

A checkpoint *set* named ``step-00001234`` is two files in one folder:

- ``step-00001234.safetensors``: the model's state dict (usable directly as
  ``create_model(..., pretrained=path)``);
- ``step-00001234.state.pt``: optimiser, gradient-scaler, RNG, step and best-metric
  state, made only of tensors, dicts, lists, numbers, strings and ``None`` so that it
  loads with ``torch.load(..., weights_only=True)``.

Each file is written to a temporary name, flushed to disk and renamed; the ``latest``
pointer (a one-line text file naming the set) is replaced the same way only after
both files are complete. A crash at any moment therefore leaves ``latest`` naming a
complete set, and resuming always starts from the last complete checkpoint.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from defocus.errors import DefocusError
from defocus.io import atomic_path, atomic_write_bytes

WEIGHTS_SUFFIX = ".safetensors"
STATE_SUFFIX = ".state.pt"
_NAME = re.compile(r"^step-(\d{8})$")


def checkpoint_name(step: int) -> str:
    """Name of the checkpoint set saved after ``step`` optimiser steps."""
    return f"step-{step:08d}"


def capture_rng() -> dict[str, Any]:
    """Snapshot the torch, CUDA, NumPy and Python random generators (weights_only-safe)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (global state, on purpose)
    version, py_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "state": list(py_state), "gauss_next": gauss_next},
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Restore the generators saved by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state["numpy"]
    np.random.set_state(  # noqa: NPY002 (global state, on purpose)
        (
            "MT19937",
            saved["keys"].numpy().astype(np.uint32),
            saved["pos"],
            saved["has_gauss"],
            saved["cached_gaussian"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss_next"]))


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the renames) to disk where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CheckpointDir:
    """The checkpoints of one training stage, kept in one folder.

    Args:
        folder: Where the sets and the ``latest`` / ``best`` pointers live (created
            on the first save).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def weights_path(self, name: str) -> Path:
        """Path of the safetensors weights of set ``name``."""
        return self.folder / f"{name}{WEIGHTS_SUFFIX}"

    def state_path(self, name: str) -> Path:
        """Path of the training state of set ``name``."""
        return self.folder / f"{name}{STATE_SUFFIX}"

    def save(
        self,
        step: int,
        weights: dict[str, torch.Tensor],
        state: dict[str, Any],
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Write a complete set atomically, then point ``latest`` at it.

        Args:
            step: Optimiser steps done; names the set.
            weights: Model state dict (moved to the CPU and made contiguous here).
            state: Training state: only tensors, dicts, lists, numbers, strings, None.
            metadata: Strings stored in the safetensors header (model name, ...).

        Returns:
            The set's name.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        name = checkpoint_name(step)
        with atomic_path(self.state_path(name)) as tmp:
            torch.save(state, tmp)
        tensors = {key: value.detach().cpu().contiguous() for key, value in weights.items()}
        with atomic_path(self.weights_path(name)) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        _fsync_dir(self.folder)
        self._point("latest", name)
        return name

    def _point(self, pointer: str, name: str) -> None:
        atomic_write_bytes(self.folder / pointer, f"{name}\n".encode())
        _fsync_dir(self.folder)

    def _read_pointer(self, pointer: str) -> str | None:
        path = self.folder / pointer
        if not path.is_file():
            return None
        name = path.read_text(encoding="utf-8").strip()
        if not _NAME.match(name):
            raise DefocusError(f"{path}: not a checkpoint pointer (contains {name!r})")
        for file in (self.weights_path(name), self.state_path(name)):
            if not file.is_file():
                raise DefocusError(f"{path}: names {name}, but {file} is missing")
        return name

    def latest(self) -> str | None:
        """Name of the last complete set, or ``None`` if nothing was saved yet."""
        return self._read_pointer("latest")

    def best(self) -> str | None:
        """Name of the set marked best, or ``None``."""
        return self._read_pointer("best")

    def mark_best(self, name: str) -> None:
        """Point ``best`` at the (already saved) set ``name``."""
        self._point("best", name)

    @staticmethod
    def step_of(name: str) -> int:
        """Optimiser steps done when set ``name`` was saved."""
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"not a checkpoint name: {name!r}")
        return int(match.group(1))

    def load(
        self, name: str, required: Sequence[str] = ()
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Read set ``name``: the weights and the training state.

        Args:
            name: The set.
            required: Keys the training state must hold.

        Raises:
            DefocusError: If either file is missing or unreadable (also: a state that
                ``weights_only`` loading refuses), or the state lacks a required key.
        """
        weights_file, state_file = self.weights_path(name), self.state_path(name)
        try:
            weights = load_file(str(weights_file))
        except (SafetensorError, OSError) as exc:
            raise DefocusError(f"{weights_file}: cannot read checkpoint weights ({exc})") from None
        try:
            state = torch.load(state_file, map_location="cpu", weights_only=True)
        except Exception as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DefocusError(f"{state_file}: cannot read checkpoint state ({problem})") from None
        missing = sorted(set(required) - set(state)) if isinstance(state, dict) else ["all"]
        if missing:
            raise DefocusError(
                f"{state_file}: not a complete training state (missing {', '.join(missing)})"
            )
        return weights, state

    def prune(self, keep_last: int) -> None:
        """Delete sets other than the ``keep_last`` most recent, ``latest`` and ``best``.

        Files of incomplete sets (left by an interrupted save) are deleted as well.
        """
        names = sorted(
            {
                path.name.split(".", 1)[0]
                for path in self.folder.glob("step-*")
                if _NAME.match(path.name.split(".", 1)[0])
            }
        )
        complete = [
            name
            for name in names
            if self.weights_path(name).is_file() and self.state_path(name).is_file()
        ]
        recent = complete[len(complete) - keep_last :] if keep_last else []
        protected = {self.latest(), self.best(), *recent}
        for name in names:
            if name not in protected:
                self.weights_path(name).unlink(missing_ok=True)
                self.state_path(name).unlink(missing_ok=True)
