"""Training and validation data of a run, built from the ``[data]`` table of a recipe.

A thin adapter over :class:`defocus.data.SyntheticDefocusDataset`: it picks the sharp
images (a folder or generated scenes) and holds some out for validation. Training
pairs are indexed by ``(epoch, index)``, which the dataset turns into a crop,
augmentation and degradation seeded by ``(seed, epoch, index)`` alone; with the
sampler of :mod:`defocus.train.sampler` the whole data stream is a function of
(seed, step).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from defocus.blurmap.network import IN_FOCUS_RADIUS
from defocus.data.masks import DefocusMaskDataset, defocus_mask_pairs
from defocus.data.realistic import RealisticDefocusDataset
from defocus.data.synthetic import SyntheticDefocusDataset
from defocus.errors import DefocusError
from defocus.io import list_images
from defocus.train.config import DataConfig
from defocus.train.pairs import ValidationPair
from defocus.train.scenes import generated_scenes

Source = Path | torch.Tensor


def split_sources(
    config: DataConfig, channels: int, seed: int
) -> tuple[list[Source], list[tuple[str, Source]]]:
    """The sharp training images and the named validation images.

    Without ``config.val`` the last ``val_holdout`` images (sorted by name) are held
    out of training; so are the last ``train_more_holdout`` of each ``train_more``
    folder, validated after them. Validation keeps at most ``val_limit`` images.

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
    for folder in config.train_more:
        photos = list_images(folder)
        if config.train_more_holdout >= len(photos):
            raise DefocusError(
                f"{folder}: {len(photos)} images, too few to hold out "
                f"data.train_more_holdout = {config.train_more_holdout}"
            )
        cut = len(photos) - config.train_more_holdout
        training += photos[:cut]
        validation += [(path.stem, path) for path in photos[cut:]]
    if config.val_limit:
        validation = validation[: config.val_limit]
    return training, validation


REALISTIC = "realistic"
"""``data.blur`` value selecting the realistic defocus family (:mod:`defocus.data.realistic`):
items are ``(blurry, sharp, blur_map)``, and losses can ask for ``blur_map``."""


class BlurMapTrainingData(torch.utils.data.Dataset):
    """Realistic scenes (radius known) followed by masked real photos (mask known).

    Items are ``(blurry, sharp, blur_map, defocus_mask)``: a scene's mask is its
    radius above :data:`~defocus.blurmap.network.IN_FOCUS_RADIUS`; a photo's radius
    is unknown (``-1``).

    Args:
        scenes: The realistic family.
        photos: Masked photos, or ``None``.
    """

    def __init__(self, scenes: RealisticDefocusDataset, photos: DefocusMaskDataset | None) -> None:
        self.scenes, self.photos = scenes, photos

    def __len__(self) -> int:
        return len(self.scenes) + (len(self.photos) if self.photos is not None else 0)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        epoch, index = item
        if index < len(self.scenes) or self.photos is None:
            blurry, sharp, radius = self.scenes[(epoch, index)]
            return blurry, sharp, radius, (radius > IN_FOCUS_RADIUS).float()
        return self.photos[(epoch, index - len(self.scenes))]


class MixedDegradations(torch.utils.data.Dataset):
    """Training items drawn in turn from several degradation families of the same photos.

    Item ``(e, i)`` comes from family ``(i + e) mod n``, so every photo meets every
    family over ``n`` epochs; items are ``(blurry, sharp)`` (further maps dropped).

    Args:
        families: Datasets over the same photos, indexed by ``(epoch, index)``.
    """

    def __init__(self, families: Sequence[torch.utils.data.Dataset]) -> None:
        self.families = list(families)

    def __len__(self) -> int:
        return len(self.families[0])

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = item
        blurry, sharp = self.families[(index + epoch) % len(self.families)][item][:2]
        return blurry, sharp


def _mask_split(config: DataConfig) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """The masked photos of ``data.masks``: training ones, then the held-out ones."""
    if not config.masks:
        return [], []
    pairs = defocus_mask_pairs(config.masks)
    if config.masks_holdout >= len(pairs):
        raise DefocusError(
            f"{config.masks}: {len(pairs)} photos, too few to hold out "
            f"data.masks_holdout = {config.masks_holdout}"
        )
    cut = len(pairs) - config.masks_holdout
    held = pairs[cut:][: config.val_limit] if config.val_limit else pairs[cut:]
    return pairs[:cut], held


def build_training_data(
    config: DataConfig, seed: int, channels: int = 1, blur_maps: bool = False
) -> torch.utils.data.Dataset:
    """Random degraded crops of the training images, indexed by ``(epoch, index)``.

    Args:
        config: The ``[data]`` table.
        seed: Run seed.
        channels: Channels of generated scenes when not training on luma.
        blur_maps: For a blur-map run: realistic scenes and the masked photos of
            ``data.masks`` (see :class:`BlurMapTrainingData`).

    Returns:
        A dataset whose items are ``(blurry, sharp)`` of shape ``(C, crop, crop)``
        (plus the maps of the realistic family or a blur-map run).
    """
    training, _ = split_sources(config, 1 if config.luma else channels, seed)
    if blur_maps:
        scenes = RealisticDefocusDataset(training, config.crop, luma=config.luma, seed=seed)
        photos, _ = _mask_split(config)
        masked = DefocusMaskDataset(photos, config.crop, seed=seed) if photos else None
        return BlurMapTrainingData(scenes, masked)
    families = [_family(blur, training, config, seed) for blur in [config.blur, *config.blur_mix]]
    return MixedDegradations(families) if config.blur_mix else families[0]


def _family(
    blur: str, training: list[Source], config: DataConfig, seed: int
) -> torch.utils.data.Dataset:
    if blur == REALISTIC:
        return RealisticDefocusDataset(training, config.crop, luma=config.luma, seed=seed)
    return SyntheticDefocusDataset(
        training, blur, crop=config.crop, augment=True, luma=config.luma, seed=seed
    )


def build_validation_pairs(
    config: DataConfig, channels: int = 1, blur_maps: bool = False
) -> list[ValidationPair]:
    """The held-out images, whole, degraded like the training data (fixed per image).

    The degradations are drawn from ``config.val_seed``, not from the run seed.

    Args:
        config: The ``[data]`` table.
        channels: Channels of generated scenes when not training on luma.
        blur_maps: For a blur-map run: realistic scenes with their radius, and the
            held-out masked photos (the last ``data.masks_holdout``) whole.
    """
    seed = config.val_seed
    _, validation = split_sources(config, 1 if config.luma else channels, seed)
    sources = [source for _, source in validation]
    if blur_maps:
        scenes = RealisticDefocusDataset(
            sources, config.crop, luma=config.luma, augment=False, seed=seed
        )
        pairs = []
        for index, (name, _) in enumerate(validation):
            blurry, sharp, radius = scenes[(0, index)]
            pairs.append(ValidationPair(name, blurry[None], sharp[None], blur_map=radius[None]))
        _, held = _mask_split(config)
        photos = DefocusMaskDataset(held, crop=None, augment=False, seed=seed)
        for index, (image, _) in enumerate(held):
            photo, _, _, mask = photos[(0, index)]
            pairs.append(ValidationPair(image.stem, photo[None], photo[None], None, mask[None]))
        return pairs
    if not validation:
        return []
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
