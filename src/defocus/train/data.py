"""Training and validation data of a run, built from the ``[data]`` table of a recipe.

A thin adapter over :mod:`defocus.data`: it picks the sharp images (a folder or
generated scenes), holds some out for validation, and indexes training pairs by
``(epoch, index)`` so that the sampler of :mod:`defocus.train.sampler` fixes the data
order and the random crops/degradations as a function of (seed, step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from defocus.errors import DefocusError
from defocus.train.config import DataConfig
from defocus.train.scenes import generated_scenes


@dataclass
class ValidationPair:
    """One held-out image, whole, with its degraded copy.

    Attributes:
        name: Image name (file stem or ``scene-N``).
        blurry: Degraded image, shape :math:`(1, C, H, W)`.
        sharp: Ground truth, shape :math:`(1, C, H, W)`.
    """

    name: str
    blurry: torch.Tensor
    sharp: torch.Tensor


class EpochIndexed(Dataset):
    """Training pairs addressed by ``(epoch, index)``.

    Args:
        dataset: A :mod:`defocus.data` synthetic dataset over the training images.
        size: Number of training images.
    """

    def __init__(self, dataset: object, size: int) -> None:
        self.dataset = dataset
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = item
        raise NotImplementedError(epoch, index)


def _sharp_images(config: DataConfig, channels: int, seed: int) -> list[tuple[str, object]]:
    if config.source == "generated":
        scenes = generated_scenes(config.generated_images, config.generated_size, channels, seed)
        return [(f"scene-{i}", scene) for i, scene in enumerate(scenes)]
    raise DefocusError(f"{config.train}: folder data is not available yet")


def build_training_data(config: DataConfig, seed: int) -> Dataset:
    """The training pairs of a run (see :class:`EpochIndexed`)."""
    raise DefocusError(f"{config.train}: training data is not available yet ({seed})")


def build_validation_pairs(config: DataConfig, seed: int) -> list[ValidationPair]:
    """The held-out validation pairs of a run (at most ``config.val_limit``)."""
    raise DefocusError(f"{config.train}: validation data is not available yet ({seed})")
