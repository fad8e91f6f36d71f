"""Pairs of (blurry, sharp) photographs on disk: plain folders and the DPDD, RealDOF and ARK
layouts.

Layouts understood (the folder given may be the dataset folder itself or its parent):

- plain: any two folders whose images are matched by file stem
  (``blurry/0001.png`` ↔ ``sharp/0001.jpg``);
- DPDD (Abuolaim & Brown 2020): ``dd_dp_dataset_png/{train_c,val_c,test_c}/{source,target}/``
  (the dual-pixel views ``train_l``/``train_r`` are ignored);
- RealDOF (Lee et al. 2021): ``RealDOF/{source,target}/``;
- ARK (Aurangabadkar et al. 2024), as this project defines it: ``ARK/gt/`` holds the
  ground truth and ``ARK/low/``, ``ARK/medium/``, ``ARK/high/`` one capture per scene
  and blur level, with the same file stems as ``gt/`` (folder names are matched
  case-insensitively; a missing level folder is an error only when asked for).
"""  # noqa: D205

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from defocus.color import to_luma
from defocus.data.seeding import Item, item_rng, split_item
from defocus.data.store import ImageStore, dihedral, to_float
from defocus.errors import DefocusError
from defocus.io import list_images, pair_by_stem

ARK_LEVELS = ("low", "medium", "high")
DPDD_SPLITS = ("train", "val", "test")


def random_crop_box(
    rng: np.random.Generator, size: tuple[int, int], crop: int, source: str
) -> tuple[int, int]:
    """Uniform top-left corner of a ``crop x crop`` window inside an image of ``size``.

    Raises:
        DefocusError: If the image is smaller than the crop.
    """
    height, width = size
    if height < crop or width < crop:
        raise DefocusError(f"{source}: image of {height}x{width} is smaller than the {crop}px crop")
    return int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))


def finish(x: torch.Tensor, luma: bool) -> torch.Tensor:
    """Return ``(C, H, W)`` pixels, reduced to BT.601 luma if asked."""
    return to_luma(x[None])[0] if luma else x


class PairedImageDataset(Dataset):
    """(blurry, sharp) image pairs from two folders matched by file stem.

    Items are ``(blurry, sharp)`` float32 tensors in ``[0, 1]``. With ``crop`` both get
    the same random window (and, with ``augment``, the same random flip/rotation),
    drawn from a generator seeded by ``(seed, epoch, index)`` only (see
    :mod:`defocus.data.seeding`), so items do not depend on the worker or rank.

    Args:
        blurry_dir: Folder of blurry images.
        sharp_dir: Folder of sharp images with the same stems.
        crop: Side of a random square crop; ``None`` for whole images.
        augment: Random flips and quarter turns (8 dihedral transforms).
        luma: Return BT.601 luma (1 channel).
        seed: Base seed of the crops and augmentations.
        cache: Keep decoded images in memory (each worker its own copy).

    Raises:
        DefocusError: If a folder is missing or empty, or an image has no counterpart.

    Shape:
        Items: ``(C, H, W)`` each, ``C`` = 1 with ``luma`` else the files' channels.
    """

    def __init__(
        self,
        blurry_dir: str | Path,
        sharp_dir: str | Path,
        *,
        crop: int | None = None,
        augment: bool = False,
        luma: bool = False,
        seed: int = 0,
        cache: bool = False,
    ) -> None:
        pairs = pair_by_stem(list_images(blurry_dir), list_images(sharp_dir), ("blurry", "sharp"))
        self._setup(pairs, crop, augment, luma, seed, cache)

    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[tuple[Path, Path]],
        *,
        crop: int | None = None,
        augment: bool = False,
        luma: bool = False,
        seed: int = 0,
        cache: bool = False,
    ) -> PairedImageDataset:
        """Build from an explicit list of ``(blurry, sharp)`` files (same options)."""
        if not pairs:
            raise DefocusError("no image pairs given")
        dataset = cls.__new__(cls)
        dataset._setup(list(pairs), crop, augment, luma, seed, cache)
        return dataset

    def _setup(
        self,
        pairs: list[tuple[Path, Path]],
        crop: int | None,
        augment: bool,
        luma: bool,
        seed: int,
        cache: bool,
    ) -> None:
        if crop is not None and crop < 1:
            raise ValueError(f"crop must be positive, got {crop}")
        self.pairs = pairs
        self.blurry = ImageStore([b for b, _ in pairs], cache)
        self.sharp = ImageStore([s for _, s in pairs], cache)
        self.crop, self.augment, self.luma, self.seed = crop, augment, luma, seed
        self.epoch = 0
        self.levels: list[str] | None = None  # blur level of each pair (ARK only)

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for plain integer indices (draws new crops each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = split_item(item, self.epoch)
        index %= len(self.pairs)
        blurry, sharp = self.blurry.array(index), self.sharp.array(index)
        if blurry.shape != sharp.shape:
            b, s = self.pairs[index]
            raise DefocusError(
                f"{b}: size {_describe(blurry)} differs from its sharp counterpart {s} "
                f"({_describe(sharp)})"
            )
        rng = item_rng(self.seed, epoch, index)
        if self.crop is not None:
            top, left = random_crop_box(rng, blurry.shape[1:], self.crop, str(self.pairs[index][0]))
            window = np.s_[:, top : top + self.crop, left : left + self.crop]
            blurry, sharp = blurry[window], sharp[window]
        x, y = to_float(blurry), to_float(sharp)
        if self.augment:
            code = int(rng.integers(0, 8))
            x, y = dihedral(x, code), dihedral(y, code)
        return finish(x.contiguous(), self.luma), finish(y.contiguous(), self.luma)


def _describe(arr: np.ndarray) -> str:
    channels, height, width = arr.shape
    return f"{height}x{width}x{channels}"


def _subfolder(root: Path, name: str) -> Path | None:
    """``root/name`` matched case-insensitively, or ``None``."""
    if (root / name).is_dir():
        return root / name
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and child.name.lower() == name.lower():
                return child
    return None


def _dataset_root(root: str | Path, name: str, marker: str) -> Path:
    """``root`` itself if it contains ``marker``, else ``root/name`` if that does."""
    base = Path(root)
    if not base.is_dir():
        raise DefocusError(f"{base}: no such folder")
    if _subfolder(base, marker) is not None:
        return base
    nested = _subfolder(base, name)
    if nested is not None and _subfolder(nested, marker) is not None:
        return nested
    return base


def _require(root: Path, name: str, layout: str) -> Path:
    folder = _subfolder(root, name)
    if folder is None:
        raise DefocusError(f"{root}: not a {layout} dataset folder (no {name}/ inside)")
    return folder


def dpdd_dataset(root: str | Path, split: str = "test", **options: object) -> PairedImageDataset:
    """DPDD pairs (``{split}_c/source`` blurry, ``{split}_c/target`` sharp).

    Args:
        root: ``dd_dp_dataset_png`` or the folder containing it.
        split: ``"train"``, ``"val"`` or ``"test"``.
        **options: Passed to :class:`PairedImageDataset` (``crop``, ``luma``, ...).
    """
    if split not in DPDD_SPLITS:
        raise DefocusError(f"DPDD split must be one of {', '.join(DPDD_SPLITS)}; got {split!r}")
    base = _dataset_root(root, "dd_dp_dataset_png", f"{split}_c")
    folder = _require(base, f"{split}_c", "DPDD")
    source = _require(folder, "source", "DPDD split")
    target = _require(folder, "target", "DPDD split")
    return PairedImageDataset(source, target, **options)  # type: ignore[arg-type]


def realdof_dataset(root: str | Path, **options: object) -> PairedImageDataset:
    """RealDOF pairs (``source`` blurry, ``target`` sharp).

    Args:
        root: ``RealDOF`` or the folder containing it.
        **options: Passed to :class:`PairedImageDataset`.
    """
    base = _dataset_root(root, "RealDOF", "source")
    source = _require(base, "source", "RealDOF")
    target = _require(base, "target", "RealDOF")
    return PairedImageDataset(source, target, **options)  # type: ignore[arg-type]


def ark_dataset(
    root: str | Path, levels: str | Sequence[str] = ARK_LEVELS, **options: object
) -> PairedImageDataset:
    """ARK pairs: each blur level's capture with the scene's ground truth.

    Args:
        root: ``ARK`` folder (or its parent) with ``gt/`` and ``low/``, ``medium/``,
            ``high/`` subfolders (see the module docstring).
        levels: One level or several; pairs are listed level by level. The level of
            each pair is in the dataset's ``levels`` list.
        **options: Passed to :class:`PairedImageDataset`.
    """
    wanted = [levels] if isinstance(levels, str) else list(levels)
    for level in wanted:
        if level not in ARK_LEVELS:
            raise DefocusError(
                f"ARK blur level must be one of {', '.join(ARK_LEVELS)}; got {level!r}"
            )
    base = _dataset_root(root, "ARK", "gt")
    gt = list_images(_require(base, "gt", "ARK"))
    pairs: list[tuple[Path, Path]] = []
    pair_levels: list[str] = []
    for level in wanted:
        captures = list_images(_require(base, level, "ARK"))
        found = pair_by_stem(captures, gt, (f"{level}-blur", "ground-truth"))
        pairs += found
        pair_levels += [level] * len(found)
    dataset = PairedImageDataset.from_pairs(pairs, **options)  # type: ignore[arg-type]
    dataset.levels = pair_levels
    return dataset
