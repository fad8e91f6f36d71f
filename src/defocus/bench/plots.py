"""Figures of evaluation records (matplotlib object API, Agg canvas, no ``pyplot``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from defocus.bench.evaluate import Record
from defocus.bench.tables import METRIC_LABELS, group_key, mean_table, methods_of
from defocus.io import atomic_path


def metrics_figure(records: Sequence[Record], metrics: Sequence[str]) -> Figure:
    """One panel per metric: per-method box plots of the per-image scores, or, when the
    records hold several PSFs (e.g. disk radii), the per-PSF mean of each method.

    Args:
        records: Per-image records.
        metrics: Metric columns, one panel each.

    Returns:
        The figure (attached to an Agg canvas).
    """  # noqa: D205
    methods = methods_of(records)
    figure = Figure(figsize=(3.2 * len(metrics), 3.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    by = group_key(records)
    for ax, metric in zip(axes, metrics, strict=True):
        if by == "psf":
            rows = [row for row in mean_table(records, [metric], by) if row["group"] != "all"]
            for method in methods:
                mine = [row for row in rows if row["method"] == method]
                ax.plot(
                    [str(r["group"]) for r in mine], [r[metric] for r in mine], "o-", label=method
                )
            ax.tick_params(axis="x", labelrotation=45)
        else:
            data = [[r[metric] for r in records if r["method"] == m] for m in methods]
            ax.boxplot(data)
            ax.set_xticks(range(1, len(methods) + 1), methods, rotation=45, ha="right")
        ax.set_title(METRIC_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
    if by == "psf":
        axes[0].legend(fontsize="small")
    return figure


def save_figure(figure: Figure, path: str | Path) -> None:
    """Save ``figure`` atomically (format from the suffix)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)
