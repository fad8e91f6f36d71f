"""Per-item random streams that depend only on ``(seed, epoch, index)``.

Crops, augmentations and degradations are drawn from a generator seeded by the run
seed, the epoch and the item index, never from global random state. An item is
therefore the same whichever DataLoader worker or DDP rank produces it, and a resumed
run sees the same data.
"""

from __future__ import annotations

import numpy as np

Item = int | tuple[int, int]


def split_item(item: Item, default_epoch: int = 0) -> tuple[int, int]:
    """Return ``(epoch, index)`` from an index or an ``(epoch, index)`` pair.

    Datasets accept both: a plain index uses ``default_epoch`` (the dataset's
    ``epoch`` attribute, see ``set_epoch``); the training sampler passes pairs.
    """
    if isinstance(item, tuple | list):
        epoch, index = item
        return int(epoch), int(index)
    return int(default_epoch), int(item)


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """A generator determined by ``(seed, epoch, index)`` alone (hashed by SeedSequence)."""
    return np.random.default_rng([int(seed) & 0xFFFF_FFFF_FFFF_FFFF, int(epoch), int(index)])


def torch_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed for a :class:`torch.Generator`, drawn from ``rng``."""
    return int(rng.integers(0, 2**63 - 1))
