"""All-or-nothing output of a command: a staging folder, and reads never overwritten.

A command that writes several files (one per input image, plus sidecars) writes them
into a hidden staging folder beside their destination; only when every file has been
written are they moved into place. A failure on the tenth of ten images therefore
leaves no output at all, and no folder that the command created.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from defocus.errors import DefocusError

STAGING_PREFIX = ".defocus-staging-"


def _identity(path: Path) -> tuple[object, ...]:
    """What makes two paths one file: device and inode if it exists, else the resolved path."""
    try:
        stat = path.stat()
    except OSError:
        return ("path", path.resolve())
    return ("inode", stat.st_dev, stat.st_ino)


def check_outputs(reads: Iterable[Path], writes: Iterable[Path]) -> None:
    """Refuse a plan that writes over a file the command reads, or one file twice.

    Paths are compared by file identity (device and inode: links, hard links and
    different spellings of one path are one file), and by resolved path for files
    that do not exist yet. Each path is looked up once.

    Args:
        reads: Every file the command reads (images, references, PSF, weights, ...).
        writes: Every file it would write.

    Raises:
        DefocusError: Naming the output and the file it would destroy.
    """
    sources = {_identity(Path(p)): Path(p) for p in reads}
    seen: set[tuple[object, ...]] = set()
    for target in (Path(p) for p in writes):
        key = _identity(target)
        if key in sources:
            raise DefocusError(
                f"{target}: output would overwrite an input of this command ({sources[key]}); "
                "choose another output"
            )
        if key in seen:
            raise DefocusError(f"{target}: two outputs of this command would be written there")
        seen.add(key)


def check_new_folder(folder: Path) -> None:
    """Refuse to create a folder whose name looks like a file (``x.txt``, ``x.gif``).

    A folder that already exists is fine whatever its name.

    Raises:
        DefocusError: If ``folder`` is missing and its name has an extension, or its
            parent is missing, or it exists as a file.
    """
    if folder.is_dir():
        return
    if folder.exists():
        raise DefocusError(f"{folder}: exists and is not a folder")
    if folder.suffix:
        raise DefocusError(
            f"{folder}: not an output folder (its name has the extension {folder.suffix!r}); "
            "create the folder first to use such a name"
        )
    if not folder.parent.is_dir():
        raise DefocusError(f"{folder}: cannot create output folder ({folder.parent} missing)")


class StagedOutputs:
    """Context manager staging the outputs of a command in one destination folder.

    Write each output to ``staged(final_path)``; leaving the ``with`` block normally
    moves them onto their final paths, leaving it with an exception deletes them (and
    the destination folder, if this created it and nothing else was put there).

    Args:
        folder: Destination folder of every output (created if missing).
        parents: Also create missing parent folders (removed again on failure);
            otherwise the parent must exist.

    Example:
        >>> with StagedOutputs(out) as stage:  # doctest: +SKIP
        ...     write_image(stage.staged(out / "a.png"), pixels)
    """

    def __init__(self, folder: str | os.PathLike[str], parents: bool = False) -> None:
        self.folder = Path(folder)
        self.parents = parents
        self._created: list[Path] = []  # folders this made, innermost first
        self._staging: Path | None = None
        self._files: list[Path] = []

    def __enter__(self) -> StagedOutputs:
        missing = [self.folder] if not self.folder.is_dir() else []
        if missing and self.parents:
            missing += [p for p in self.folder.parents if not p.exists()]
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                self._remove_folder()
                raise DefocusError(
                    f"{folder}: cannot create folder ({exc.strerror or exc})"
                ) from None
            self._created.insert(0, folder)
        try:
            self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder))
        except OSError as exc:
            self._remove_folder()
            raise DefocusError(
                f"{self.folder}: cannot write there ({exc.strerror or exc})"
            ) from None
        return self

    def staged(self, final: str | os.PathLike[str]) -> Path:
        """The temporary path to write ``final`` to (``final`` must be in the folder)."""
        final = Path(final)
        if self._staging is None:
            raise RuntimeError("StagedOutputs used outside its with block")
        if final.parent.resolve() != self.folder.resolve():
            raise ValueError(f"{final} is not in the staged folder {self.folder}")
        self._files.append(final)
        return self._staging / final.name

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        staging, self._staging = self._staging, None
        if staging is None:
            return
        try:
            if kind is None:
                for final in self._files:
                    os.replace(staging / final.name, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if kind is not None:
                self._remove_folder()

    def _remove_folder(self) -> None:
        for folder in self._created:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty: someone else wrote there meanwhile; leave it
