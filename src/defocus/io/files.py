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

    In a folder, hidden files (names starting with ``.``, e.g. macOS ``._x.png``
    resource forks) are skipped.

    Raises:
        DefocusError: If ``path`` does not exist, or is a folder with no images.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        files = sorted(
            f
            for f in p.iterdir()
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
        )
        if not files:
            raise DefocusError(f"{p}: folder contains no images")
        return files
    raise DefocusError(f"{p}: no such file or folder")


def _index_by_stem(files: Sequence[Path], name: str) -> dict[str, Path]:
    by_stem: dict[str, Path] = {}
    for f in files:
        if f.stem in by_stem:
            raise DefocusError(f"{f}: two {name} files share the name {f.stem!r}")
        by_stem[f.stem] = f
    return by_stem


def pair_by_stem(
    first: Sequence[Path],
    second: Sequence[Path],
    names: tuple[str, str] = ("restored", "reference"),
    *,
    complete: bool = True,
) -> list[tuple[Path, Path]]:
    """Match two lists of files by stem (``a/img1.png`` ↔ ``b/img1.jpg``).

    Args:
        first: Files of the first set, in the order the pairs are returned.
        second: Files of the second set.
        names: What the two sets are called, for error messages.
        complete: Also require every file of ``second`` to have a partner.

    Raises:
        DefocusError: If a stem of ``first`` (or, when ``complete``, of ``second``)
            has no partner, or a stem appears twice in one set.
    """
    firsts = _index_by_stem(first, names[0])
    seconds = _index_by_stem(second, names[1])
    for stem, f in firsts.items():
        if stem not in seconds:
            raise DefocusError(f"{f}: no {names[1]} image named {stem!r} in {second[0].parent}")
    if complete:
        for stem, f in seconds.items():
            if stem not in firsts:
                raise DefocusError(f"{f}: no {names[0]} image named {stem!r} in {first[0].parent}")
    return [(f, seconds[f.stem]) for f in first]


def match_paths(
    first: str | Path, second: str | Path, names: tuple[str, str] = ("restored", "reference")
) -> list[tuple[Path, Path]]:
    """Pair the images given as two files or folders.

    - two files: one pair, whatever their names;
    - two folders: matched by stem, every image on each side must have a partner;
    - a file and a folder: the file is matched by stem inside the folder;
    - a folder and a file: every image of the folder is paired with the file.

    Args:
        first: File or folder of the first set (its order is kept).
        second: File or folder of the second set.
        names: What the two sets are called, for error messages.

    Raises:
        DefocusError: If a path is missing or empty, or names do not match.
    """
    firsts, seconds = list_images(first), list_images(second)
    if Path(second).is_file():
        return [(f, seconds[0]) for f in firsts]
    return pair_by_stem(firsts, seconds, names, complete=Path(first).is_dir())
