"""Real photos with hand-drawn defocus masks (the CUHK blur-detection layout).

A folder holds ``images/<name>.<ext>`` and ``masks/<name>.png`` (white = out of focus,
black = in focus), as in Shi, Xu & Jia's CUHK dataset. Items are laid out like the
blur-map training data: ``(image, image, radius, mask)`` with the radius unknown
(``-1``), so that a blur-map network learns the defocus probability from them alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from defocus.data.seeding import Item, item_rng, split_item
from defocus.data.store import ImageStore, dihedral, take_region, to_float
from defocus.errors import DefocusError
from defocus.io import list_images

UNKNOWN = -1.0
"""Value of a map where its quantity is unknown (see :data:`defocus.losses.ROLES`)."""


def defocus_mask_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """``(image, mask)`` files of a mask folder, sorted by name.

    Raises:
        DefocusError: If ``images/`` or ``masks/`` is missing, or an image has no mask.
    """
    root = Path(root)
    images, masks = root / "images", root / "masks"
    for folder in (images, masks):
        if not folder.is_dir():
            raise DefocusError(f"{root}: no {folder.name}/ folder (expected images/ and masks/)")
    pairs = []
    for image in list_images(images):
        mask = masks / f"{image.stem}.png"
        if not mask.is_file():
            raise DefocusError(f"{mask}: missing (the mask of {image.name})")
        pairs.append((image, mask))
    return pairs


def read_defocus_mask(path: str | Path) -> torch.Tensor:
    """A mask file as ``(1, H, W)`` floats, 1 = out of focus.

    Raises:
        DefocusError: If the file cannot be read as an image.
    """
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    except (OSError, ValueError) as error:
        raise DefocusError(f"{path}: not a readable mask image ({error})") from None
    return torch.from_numpy((pixels >= 0.5).astype(np.float32))[None]


class DefocusMaskDataset(Dataset):
    """Random crops of real photos with their defocus masks.

    Crops smaller photos read their reflect-101 extension; the photo and its mask get
    the same flip or quarter turn. Every choice comes from a generator seeded by
    ``(seed, epoch, index)``.

    Args:
        pairs: ``(image, mask)`` files (see :func:`defocus_mask_pairs`).
        crop: Side of the square crops; ``None`` returns whole photos.
        augment: Random flips and quarter turns.
        seed: Base seed.

    Shape:
        Items: ``(3, crop, crop)`` twice, then ``(1, crop, crop)`` twice.

    Raises:
        DefocusError: If an image and its mask differ in size.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        crop: int | None = 256,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.pairs = list(pairs)
        self.store = ImageStore([image for image, _ in self.pairs])
        self.masks: dict[int, np.ndarray] = {}
        self.crop, self.augment, self.seed, self.epoch = crop, augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for plain integer indices."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def _mask(self, index: int) -> np.ndarray:
        if index not in self.masks:
            mask = read_defocus_mask(self.pairs[index][1]).numpy()
            if mask.shape[1:] != self.store.size(index):
                raise DefocusError(
                    f"{self.pairs[index][1]}: mask of {mask.shape[1]}x{mask.shape[2]} does not "
                    f"match its image of {self.store.size(index)[0]}x{self.store.size(index)[1]}"
                )
            self.masks[index] = mask
        return self.masks[index]

    def __getitem__(
        self, item: Item
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        epoch, index = split_item(item, self.epoch)
        index %= len(self)
        rng = item_rng(self.seed, epoch, index)
        photo, mask = self.store.array(index), self._mask(index)
        height, width = self.store.size(index)
        if self.crop is not None:
            top = int(rng.integers(0, max(height - self.crop, 0) + 1))
            left = int(rng.integers(0, max(width - self.crop, 0) + 1))
            photo = take_region(photo, top, left, self.crop, self.crop)
            mask = take_region(mask, top, left, self.crop, self.crop)
        image = to_float(photo)
        if image.shape[0] == 1:
            image = image.expand(3, -1, -1).clone()
        truth = torch.from_numpy(np.ascontiguousarray(mask)).float()
        if self.augment:
            code = int(rng.integers(0, 8))
            image, truth = dihedral(image, code), dihedral(truth, code)
        return image, image, torch.full_like(truth, UNKNOWN), truth
