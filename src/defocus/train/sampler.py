"""Data order as a pure function of (seed, step), so that a resumed run sees the same crops.

Global sample ``g = step · batch_size + i`` is item ``g mod n`` of epoch ``g div n``;
each epoch visits the ``n`` training images in a permutation drawn from a generator
seeded by ``(seed, epoch)``. A batch item is the pair ``(epoch, index)``: datasets that
randomise crops and degradations per ``(seed, epoch, index)`` are then deterministic too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import torch

from defocus.train.distributed import Context, shard


@functools.lru_cache(maxsize=4)
def epoch_permutation(size: int, seed: int, epoch: int) -> tuple[int, ...]:
    """The order in which epoch ``epoch`` visits ``size`` images."""
    mixed = int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])
    generator = torch.Generator().manual_seed(mixed & 0x7FFF_FFFF_FFFF_FFFF)
    return tuple(torch.randperm(size, generator=generator).tolist())


def batch_items(step: int, batch_size: int, size: int, seed: int) -> list[tuple[int, int]]:
    """The ``(epoch, index)`` pairs of the global batch of optimiser step ``step``."""
    items = []
    for sample in range(step * batch_size, (step + 1) * batch_size):
        epoch, position = divmod(sample, size)
        items.append((epoch, epoch_permutation(size, seed, epoch)[position]))
    return items


class StepBatchSampler:
    """Batch sampler for :class:`torch.utils.data.DataLoader` over steps ``[start, stop)``.

    Each process receives its own shard of every global batch (see
    :func:`~defocus.train.distributed.shard`).

    Args:
        start: First optimiser step (the step resumed from).
        stop: One past the last step.
        batch_size: Global batch size.
        size: Number of training images.
        seed: Run seed.
        context: This process's place in the run.
    """

    def __init__(
        self, start: int, stop: int, batch_size: int, size: int, seed: int, context: Context
    ) -> None:
        self.start, self.stop = start, stop
        self.batch_size, self.size, self.seed = batch_size, size, seed
        self.context = context

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            yield shard(batch_items(step, self.batch_size, self.size, self.seed), self.context)
