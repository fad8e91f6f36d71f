"""Training and validation data of a run, built from the ``[data]`` table of a recipe.

A thin adapter over :class:`defocus.data.SyntheticDefocusDataset`: it picks the sharp
images (a folder or generated scenes) and holds some out for validation. Training
pairs are indexed by ``(epoch, index)``, which the dataset turns into a crop,
augmentation and degradation seeded by ``(seed, epoch, index)`` alone; with the
sampler of :mod:`defocus.train.sampler` the whole data stream is a function of
(seed, step).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from defocus.data.realistic import RealisticDefocusDataset
from defocus.data.synthetic import SyntheticDefocusDataset
from defocus.errors import DefocusError
from defocus.io import list_images
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


Source = Path | torch.Tensor


def split_sources(
    config: DataConfig, channels: int, seed: int
) -> tuple[list[Source], list[tuple[str, Source]]]:
    """The sharp training images and the named validation images.

    Without ``config.val`` the last ``val_holdout`` images (sorted by name) are held
    out of training; validation keeps at most ``val_limit`` images.

    Raises:
        DefocusError: If ``data.train`` is not set for folder data, a folder is missing
            or has too few images.
    """
    if config.source == "generated":
        scenes = generated_scenes(config.generated_images, config.generated_size, channels, seed)
        named: list[tuple[str, Source]] = [(f"scene-{i}", s) for i, s in enumerate(scenes)]
    elif not config.train:
        raise DefocusError(
            'data.train: name the folder of training photos (or set data.source = "generated")'
        )
    else:
        named = [(path.stem, path) for path in list_images(config.train)]
    if config.val:
        training = [source for _, source in named]
        validation: list[tuple[str, Source]] = [(p.stem, p) for p in list_images(config.val)]
    else:
        where = config.train if config.source == "folder" else "generated data"
        if config.val_holdout >= len(named):
            raise DefocusError(
                f"{where}: {len(named)} images, too few to hold out "
                f"data.val_holdout = {config.val_holdout} for validation"
            )
        cut = len(named) - config.val_holdout
        training = [source for _, source in named[:cut]]
        validation = named[cut:]
    if config.val_limit:
        validation = validation[: config.val_limit]
    return training, validation


REALISTIC = "realistic"
"""``data.blur`` value selecting the realistic defocus family (:mod:`defocus.data.realistic`):
items are ``(blurry, sharp, blur_map)``, and losses can ask for ``blur_map``."""


def build_training_data(
    config: DataConfig, seed: int, channels: int = 1
) -> torch.utils.data.Dataset:
    """Random degraded crops of the training images, indexed by ``(epoch, index)``.

    Args:
        config: The ``[data]`` table.
        seed: Run seed.
        channels: Channels of generated scenes when not training on luma.

    Returns:
        A dataset whose items are ``(blurry, sharp)`` of shape ``(C, crop, crop)``.
    """
    training, _ = split_sources(config, 1 if config.luma else channels, seed)
    if config.blur == REALISTIC:
        return RealisticDefocusDataset(training, config.crop, luma=config.luma, seed=seed)
    return SyntheticDefocusDataset(
        training, config.blur, crop=config.crop, augment=True, luma=config.luma, seed=seed
    )


def build_validation_pairs(
    config: DataConfig, seed: int, channels: int = 1
) -> list[ValidationPair]:
    """The held-out images, whole, degraded like the training data (fixed per image).

    Args:
        config: The ``[data]`` table.
        seed: Run seed.
        channels: Channels of generated scenes when not training on luma.
    """
    _, validation = split_sources(config, 1 if config.luma else channels, seed)
    if not validation:
        return []
    sources = [source for _, source in validation]
    dataset: torch.utils.data.Dataset
    if config.blur == REALISTIC:  # one fixed crop per image (whole photos are large)
        dataset = RealisticDefocusDataset(
            sources, config.crop, luma=config.luma, augment=False, seed=seed
        )
    else:
        dataset = SyntheticDefocusDataset(
            sources, config.blur, crop=None, augment=False, luma=config.luma, seed=seed
        )
    pairs = []
    for index, (name, _) in enumerate(validation):
        blurry, sharp = dataset[(0, index)][:2]
        pairs.append(ValidationPair(name, blurry[None], sharp[None]))
    return pairs
