"""Listing image files and pairing them across folders by file stem."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from defocus.errors import DefocusError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".ppm", ".pgm", ".pnm"}
)


def list_images(path: str | Path) -> list[Path]:
    """Return ``[path]`` for a file, or the sorted image files directly inside a folder.

    Raises:
        DefocusError: If ``path`` does not exist, or is a folder with no images.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DefocusError(f"{p}: folder contains no images")
        return files
    raise DefocusError(f"{p}: no such file or folder")


def pair_by_stem(
    first: Sequence[Path], second: Sequence[Path], names: tuple[str, str] = ("restored", "reference")
) -> list[tuple[Path, Path]]:
    """Match two lists of files by stem (``a/img1.png`` ↔ ``b/img1.jpg``).

    A single file on each side is paired regardless of its name.

    Args:
        first: Files of the first set, in the order the pairs are returned.
        second: Files of the second set.
        names: What the two sets are called, for error messages.

    Raises:
        DefocusError: If a stem is missing on either side or appears twice.
    """
    if len(first) == 1 and len(second) == 1:
        return [(first[0], second[0])]
    by_stem: dict[str, Path] = {}
    for f in second:
        if f.stem in by_stem:
            raise DefocusError(f"{f}: two {names[1]} files share the name {f.stem!r}")
        by_stem[f.stem] = f
    first_stems = {f.stem for f in first}
    for f in first:
        if f.stem not in by_stem:
            raise DefocusError(f"{f}: no {names[1]} image named {f.stem!r} in {second[0].parent}")
    for stem, f in by_stem.items():
        if stem not in first_stems:
            raise DefocusError(f"{f}: no {names[0]} image named {stem!r} in {first[0].parent}")
    return [(f, by_stem[f.stem]) for f in first]
