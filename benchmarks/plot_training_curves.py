"""Overlay the training curves (loss, validation PSNR) of runs, e.g. fp32 vs bf16.

Reads ``RUN/<stage>/log.csv`` of every run given (the first stage unless
``--stage``) and draws the training loss and the validation PSNR against the step,
one line per run, into one PNG; prints the final validation scores of each run.

    python benchmarks/plot_training_curves.py runs/prec-fp32 runs/prec-bf16 \
        --out docs/figures/precision-curves.png
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read_log(run: Path, stage: str | None) -> tuple[str, list[dict[str, str]]]:
    folders = sorted(p.parent for p in run.glob("*/log.csv"))
    folder = run / stage if stage else folders[0]
    with open(folder / "log.csv", newline="") as handle:
        return folder.name, list(csv.DictReader(handle))


def series(rows: list[dict[str, str]], key: str) -> tuple[list[int], list[float]]:
    points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
    return [p[0] for p in points], [p[1] for p in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--stage", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for run in args.runs:
        stage, rows = read_log(run, args.stage)
        left.plot(*series(rows, "loss"), label=run.name, linewidth=1)
        steps, psnr = series(rows, "val_psnr")
        right.plot(steps, psnr, marker="o", markersize=3, label=run.name)
        keys = ("val_psnr", "val_ssim", "val_q")
        finals = {k: round(series(rows, k)[1][-1], 4) for k in keys if series(rows, k)[1]}
        speed = [v for v in series(rows, "crops_per_s")[1] if v > 0]
        rate = f", median {sorted(speed)[len(speed) // 2]:.1f} crops/s" if speed else ""
        print(f"{run}: {stage} final validation {finals}{rate}")
    left.set(xlabel="step", ylabel="training loss (L1)", title="training loss")
    right.set(xlabel="step", ylabel="validation PSNR (dB)", title="validation PSNR")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
