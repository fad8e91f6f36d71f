"""Per-stage training log: CSV rows and a plot of the curves, rewritten atomically.

The CSV holds losses, learning rate, throughput and validation metrics by step.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from defocus.io import atomic_path, atomic_write_bytes


class RunLog:
    """Rows keyed by step, kept in memory and mirrored to a CSV file.

    Args:
        path: The CSV file.
        columns: Column names; ``"step"`` must be the first.
    """

    def __init__(self, path: str | os.PathLike[str], columns: list[str]) -> None:
        self.path = Path(path)
        self.columns = columns
        self.rows: dict[int, dict[str, str]] = {}

    def restore(self, upto_step: int) -> None:
        """Reload rows of an earlier run, keeping only those with ``step <= upto_step``.

        Rows logged after the checkpoint being resumed from are dropped: those steps
        are about to be run again.
        """
        if not self.path.is_file():
            return
        with open(self.path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                step = int(row["step"])
                if step <= upto_step:
                    self.rows[step] = {key: row.get(key) or "" for key in self.columns}

    def update(self, step: int, values: dict[str, float | str]) -> None:
        """Add ``values`` to the row of ``step`` (creating it); floats keep 7 digits."""
        row = self.rows.setdefault(step, {key: "" for key in self.columns})
        row["step"] = str(step)
        for key, value in values.items():
            row[key] = f"{value:.7g}" if isinstance(value, float) else str(value)

    def save(self) -> None:
        """Rewrite the CSV file atomically."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for step in sorted(self.rows):
            writer.writerow(self.rows[step])
        atomic_write_bytes(self.path, buffer.getvalue().encode())

    def series(self, column: str) -> tuple[list[int], list[float]]:
        """Steps and values of the rows where ``column`` is filled."""
        steps, values = [], []
        for step in sorted(self.rows):
            text = self.rows[step].get(column, "")
            if text:
                steps.append(step)
                values.append(float(text))
        return steps, values

    def plot(
        self, path: str | os.PathLike[str], loss_columns: list[str], metric_columns: list[str]
    ) -> None:
        """Draw the loss curves and one panel per validation metric into a PNG, atomically.

        Args:
            path: The ``.png`` file.
            loss_columns: Columns drawn together in the first panel.
            metric_columns: Columns drawn one per panel after it.
        """
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        panels = 1 + len(metric_columns)
        figure, axes = plt.subplots(1, panels, figsize=(4 * panels, 3.2), squeeze=False)
        loss_axis = axes[0][0]
        for column in loss_columns:
            steps, values = self.series(column)
            if steps:
                loss_axis.plot(steps, values, label=column)
        loss_axis.set_xlabel("step")
        loss_axis.set_title("training loss")
        if loss_axis.lines:
            loss_axis.legend(fontsize="small")
        for axis, column in zip(axes[0][1:], metric_columns, strict=True):
            steps, values = self.series(column)
            axis.plot(steps, values, marker="o")
            axis.set_xlabel("step")
            axis.set_title(column)
        figure.tight_layout()
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=100)
        plt.close(figure)
