"""Shared output helpers of the commands: progress bar, tables, JSON and CSV files.

Conventions: progress bars and notes go to stderr, so that stdout carries only the
result (``--json -``). Files are written atomically (complete or not at all).
Non-finite values (the PSNR of identical images is ``inf``) are written as the
strings ``"inf"``, ``"-inf"`` and ``"nan"`` in JSON, which keeps the file valid JSON
(``float(value)`` reads them back in Python), and as ``inf``/``nan`` in CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from defocus.errors import DefocusError
from defocus.io import atomic_write_bytes

Row = Mapping[str, object]


def stderr_console() -> Console:
    """A console on stderr (progress, notes, tables when stdout carries data)."""
    return Console(stderr=True)


def stdout_console() -> Console:
    """A console on the current stdout."""
    return Console(file=sys.stdout)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A transient progress bar on stderr; yields ``(progress, task)``.

    It is shown only when stderr is a terminal (logs and pipes stay clean). Advance
    it with ``progress.advance(task)`` and name the item being processed with
    ``progress.update(task, description=name)``.
    """
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    console = stderr_console()
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        yield progress, progress.add_task("", total=total)


def json_value(value: object) -> object:
    """Make ``value`` JSON-safe: non-finite floats become ``"inf"``, ``"-inf"``, ``"nan"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def format_value(value: object, digits: int = 4) -> str:
    """Format a table cell: floats with ``digits`` decimals, ``inf``/``nan`` spelt out."""
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def check_output_file(path: str | Path | None) -> None:
    """Fail early (before any work) if ``path``'s folder does not exist.

    ``None`` and ``"-"`` (stdout) are accepted as they are.

    Raises:
        DefocusError: Naming the file, if it cannot be written there.
    """
    if path is None or str(path) == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise DefocusError(f"{p}: is a folder; give a file name")
    if not p.parent.is_dir():
        raise DefocusError(f"{p}: output folder {p.parent} does not exist")


def json_text(data: object) -> str:
    """Serialise to indented, strictly valid JSON (see :func:`json_value`)."""

    def clean(obj: object) -> object:
        if isinstance(obj, Mapping):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        return json_value(obj)

    return json.dumps(clean(data), indent=2, allow_nan=False) + "\n"


def write_json(path: str | Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` atomically, or to stdout when ``path`` is ``"-"``."""
    text = json_text(data)
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write_bytes(path, text.encode())


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Write ``rows`` (dicts keyed by ``columns``) as CSV to ``path`` atomically.

    Floats are written with full precision (``repr``), non-finite ones as ``inf``/``nan``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    atomic_write_bytes(path, buffer.getvalue().encode())


def table(
    title: str | None,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Row],
    digits: Mapping[str, int] | None = None,
    footer: Row | None = None,
) -> Table:
    """Build a rich table.

    Args:
        title: Caption above the table.
        columns: ``(key, header)`` pairs; the first column is left-aligned text, the
            others right-aligned numbers.
        rows: Dicts keyed by the column keys.
        digits: Decimals per column key (default 4).
        footer: An extra row (e.g. the mean) separated by a rule.
    """
    digits = digits or {}
    result = Table(title=title, title_justify="left")
    for index, (_, header) in enumerate(columns):
        result.add_column(header, justify="left" if index == 0 else "right", overflow="fold")
    for row in rows:
        result.add_row(*(format_value(row.get(k, ""), digits.get(k, 4)) for k, _ in columns))
    if footer is not None:
        result.add_section()
        result.add_row(
            *(format_value(footer.get(k, ""), digits.get(k, 4)) for k, _ in columns),
            style="bold",
        )
    return result
