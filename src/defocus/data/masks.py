"""Real photos with hand-drawn defocus masks (the CUHK blur-detection layout).

A folder holds ``images/<name>.<ext>`` and ``masks/<name>.png`` (white = out of focus,
black = in focus), as in Shi, Xu & Jia's CUHK dataset. Items are laid out like the
blur-map training data: ``(image, image, radius, mask)`` with the radius unknown
(``-1``), so that a blur-map network learns the defocus probability from them alone.

Photos without a drawn mask can be labelled coarsely instead, with boxes in a TOML
file (:func:`read_labelled_photos`): some boxes out of focus, some in focus, the rest
of the photo unlabelled and left out of every score.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from defocus.data.seeding import Item, item_rng, split_item
from defocus.data.store import ImageStore, dihedral, take_region, to_float
from defocus.errors import DefocusError
from defocus.io import list_images
from defocus.tomlcompat import tomllib

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


Box = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in pixels, right and bottom exclusive."""


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo with boxes known to be out of focus and boxes known to be in focus.

    Attributes:
        path: The photo.
        defocused: Boxes out of focus.
        in_focus: Boxes in focus.
    """

    path: Path
    defocused: tuple[Box, ...]
    in_focus: tuple[Box, ...]

    def masks(self, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The defocus mask (1 = out of focus) and where it is known (1 = labelled).

        A pixel inside both kinds of box is left unlabelled.

        Raises:
            DefocusError: If a box does not lie inside a photo of this size.

        Shape:
            ``(1, 1, height, width)`` each.
        """
        cover = torch.zeros(2, height, width)
        for kind, boxes in enumerate((self.in_focus, self.defocused)):
            for left, top, right, bottom in boxes:
                if not (0 <= left < right <= width and 0 <= top < bottom <= height):
                    raise DefocusError(
                        f"{self.path}: box {[left, top, right, bottom]} is not inside the "
                        f"{width}x{height} photo"
                    )
                cover[kind, top:bottom, left:right] = 1
        defocused = cover[1] * (1 - cover[0])
        known = (cover[0] + cover[1] == 1).float()
        return defocused[None, None], known[None, None]


def _located(entry: dict, folder: Path, source: Path) -> Path:
    """``entry["file"]``, inside ``entry["package"]`` when given, else next to ``source``."""
    package = entry.get("package")
    if package is None:
        return folder / entry["file"]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DefocusError(f"{source}: package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / entry["file"]


def _boxes(entry: dict, key: str, source: Path) -> tuple[Box, ...]:
    boxes = entry.get(key, [])
    if not all(
        isinstance(b, list) and len(b) == 4 and all(isinstance(v, int) for v in b) for b in boxes
    ):
        raise DefocusError(
            f"{source}: {key} of {entry['file']} must be [left, top, right, bottom] lists"
        )
    return tuple((b[0], b[1], b[2], b[3]) for b in boxes)


def read_labelled_photos(path: str | Path) -> list[LabelledPhoto]:
    """Photos and their labelled boxes from a TOML file.

    Each ``[[photos]]`` table has ``file`` (relative to the TOML file, or to the
    installed Python ``package`` when that key is given), ``defocused`` and
    ``in_focus`` lists of ``[left, top, right, bottom]`` boxes.

    Raises:
        DefocusError: If the file cannot be read or parsed, a photo is missing, or a
            box is not four integers.
    """
    source = Path(path)
    try:
        tables = tomllib.loads(source.read_text()).get("photos", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DefocusError(f"{source}: not a readable labels file ({error})") from None
    photos = []
    for entry in tables:
        if "file" not in entry:
            raise DefocusError(f"{source}: a [[photos]] table has no file")
        photo = _located(entry, source.parent, source)
        if not photo.is_file():
            raise DefocusError(f"{source}: {photo} does not exist")
        photos.append(
            LabelledPhoto(
                photo, _boxes(entry, "defocused", source), _boxes(entry, "in_focus", source)
            )
        )
    if not photos:
        raise DefocusError(f"{source}: no [[photos]] tables")
    return photos


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
