"""Tables of evaluation records: per-image CSV, per-method/per-group means, markdown."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from defocus.bench.evaluate import Record
from defocus.bench.stats import compare
from defocus.io import atomic_write_bytes

ALL = "all"
"""Group name of the mean over every image."""

METRIC_LABELS = {
    "psnr": "PSNR ↑",
    "ssim": "SSIM ↑",
    "q": "Q ↑",
    "omega": "Ω ↑ (see caveat)",
    "omega-n": "Ω-n ↑",
    "lpips": "LPIPS ↓",
    "j": "J ↑",
    "seconds": "CPU s",
}


def format_value(value: object, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` decimals, NaN/``None`` as a dash, else text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_p(p: float) -> str:
    """A p-value cell: 3 decimals, or ``"<0.001"``-style scientific form below 0.001."""
    if math.isnan(p):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table (first column left-aligned, the others right-aligned)."""
    cells = [[format_value(value) for value in row] for row in rows]
    align = [":--"] + ["--:"] * (len(header) - 1)
    lines = [header, align, *cells]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def methods_of(records: Sequence[Record]) -> list[str]:
    """Method names in order of first appearance."""
    return list(dict.fromkeys(r["method"] for r in records))


def group_key(records: Sequence[Record]) -> str:
    """``"psf"`` when the records hold several PSFs (e.g. radii), else ``"group"``."""
    return "psf" if len({r["psf"] for r in records}) > 1 else "group"


def mean_table(
    records: Sequence[Record], columns: Sequence[str], by: str | None = None
) -> list[dict[str, object]]:
    """Mean of each column per method and group, plus the group :data:`ALL` per method.

    Args:
        records: Per-image records.
        columns: Numeric columns to average.
        by: Record field to group by (default: :func:`group_key`).

    Returns:
        Rows ``{"method", "group", "n", <column>: mean}``.
    """
    by = by or group_key(records)
    rows = []
    for method in methods_of(records):
        mine = [r for r in records if r["method"] == method]
        groups = list(dict.fromkeys(str(r[by]) for r in mine))
        for group in [*groups, ALL]:
            chosen = mine if group == ALL else [r for r in mine if str(r[by]) == group]
            row: dict[str, object] = {"method": method, "group": group, "n": len(chosen)}
            row.update({c: sum(float(r[c]) for r in chosen) / len(chosen) for c in columns})
            rows.append(row)
    return rows


def records_csv(records: Sequence[Record]) -> str:
    """The records as CSV text (columns in the order of the first record)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically: readers never see a partial file."""
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def summary_markdown(
    records: Sequence[Record], metrics: Sequence[str], baseline: str | None = None
) -> str:
    """Markdown summary: overall means with paired tests against ``baseline``, then the
    mean of each metric per group (dataset or PSF).

    Args:
        records: Per-image records of one or more methods.
        metrics: Metric columns.
        baseline: Method the others are tested against (paired t-test per metric).

    Returns:
        Markdown text.
    """  # noqa: D205
    columns = [*metrics, "seconds"]
    means = [row for row in mean_table(records, columns) if row["group"] == ALL]
    header = ["method", "images", *(METRIC_LABELS.get(c, c) for c in columns)]
    body = [[row["method"], row["n"], *(row[c] for c in columns)] for row in means]
    parts = ["## Means over all images\n\n", markdown_table(header, body)]
    others = [m for m in methods_of(records) if m != baseline]
    if baseline is not None and others:
        parts.append(
            f"\n## Paired t-tests against `{baseline}`\n\n"
            "Mean difference (method − baseline) [95 % CI], two-sided p-value.\n\n"
        )
        rows = []
        for method in others:
            cells: list[object] = [method]
            for metric in metrics:
                test = compare(records, method, baseline, metric)
                cells.append(
                    f"{test.mean_difference:+.4f} [{test.ci_low:+.4f}, {test.ci_high:+.4f}] "
                    f"p={format_p(test.p)}"
                )
            rows.append(cells)
        parts.append(markdown_table(["method", *(METRIC_LABELS.get(m, m) for m in metrics)], rows))
    by = group_key(records)
    grouped = [row for row in mean_table(records, columns, by) if row["group"] != ALL]
    groups = list(dict.fromkeys(str(row["group"]) for row in grouped))
    if len(groups) > 1:
        for metric in metrics:
            parts.append(f"\n## {METRIC_LABELS.get(metric, metric)} per {by}\n\n")
            rows = []
            for method in methods_of(records):
                value = {r["group"]: r[metric] for r in grouped if r["method"] == method}
                overall = next(r[metric] for r in means if r["method"] == method)
                rows.append([method, *(value.get(g) for g in groups), overall])
            parts.append(markdown_table(["method", *groups, "mean"], rows))
    return "".join(parts)
