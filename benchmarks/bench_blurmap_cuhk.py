"""Defocus detection on real photos: Fβ (β² = 0.3) and MAE against the CUHK masks.

Usage: python benchmarks/bench_blurmap_cuhk.py [--root ../shared/data/real/CUHK-defocus]
       [--first 401] [--last 500] [--figure docs/figures/blurmap-cuhk.png]

Scores the gradient-ratio baseline (``defocus.blurmap.gradient_ratio_blur_map``; nothing
of it is fitted on CUHK) image by image and prints the means, with the time per image.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from defocus.blurmap import defocus_scores, gradient_ratio_blur_map
from defocus.io import read_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/real/CUHK-defocus")
    parser.add_argument("--first", type=int, default=401)
    parser.add_argument("--last", type=int, default=500)
    parser.add_argument("--figure", default="")
    args = parser.parse_args()
    root = Path(args.root)
    scores: dict[str, list[float]] = {"f_beta": [], "mae": [], "precision": [], "recall": []}
    shown = []
    start = time.perf_counter()
    for index in range(args.first, args.last + 1):
        name = f"out_of_focus{index:04d}"
        image = read_image(root / "images" / f"{name}.jpg").pixels[None].double()
        mask = np.asarray(Image.open(root / "masks" / f"{name}.png").convert("L")) / 255.0
        estimate = gradient_ratio_blur_map(image)
        result = defocus_scores(estimate.probability, torch.from_numpy(mask)[None, None])
        for key, value in result.items():
            scores[key].append(float(value))
        if len(shown) < 4:
            shown.append((name, image[0], estimate.probability[0, 0], mask))
    seconds = (time.perf_counter() - start) / (args.last - args.first + 1)
    means = {key: float(np.mean(values)) for key, values in scores.items()}
    print(
        f"CUHK {args.first:04d}-{args.last:04d} ({len(scores['mae'])} photos): "
        + ", ".join(f"{k} {v:.3f}" for k, v in means.items())
        + f"; {seconds:.2f} s/photo"
    )
    if args.figure:
        fig, axes = plt.subplots(len(shown), 3, figsize=(9, 2.4 * len(shown)))
        for row, (name, image, probability, mask) in zip(axes, shown, strict=True):
            row[0].imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            row[1].imshow(probability.numpy(), cmap="gray", vmin=0, vmax=1)
            row[2].imshow(mask, cmap="gray", vmin=0, vmax=1)
            for ax, title in zip(row, (name, "estimated P(defocus)", "CUHK mask"), strict=True):
                ax.set_title(title, fontsize=8)
                ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=60)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
