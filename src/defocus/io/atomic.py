"""Atomic file writes: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from defocus.errors import DefocusError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    The temporary file keeps ``path``'s suffix so that writers choosing a format from
    the extension still work. If the body raises, the temporary file is removed and
    ``path`` is left untouched, so a reader never sees a partial file. The final file
    gets the usual permissions (``0o666`` minus the umask).

    Args:
        path: Final destination. Its folder must exist.

    Yields:
        The temporary path to write to.

    Raises:
        DefocusError: If the temporary file cannot be created or renamed onto
            ``path`` (missing or read-only folder, ``path`` is a folder, ...).
    """
    target = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
        )
    except OSError as exc:
        raise DefocusError(f"{target}: cannot write file ({exc.strerror or exc})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise DefocusError(f"{target}: cannot write file ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
