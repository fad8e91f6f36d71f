"""Figure of the realistic defocus family: blurry sample, all-in-focus reference, blur map.

Usage: python benchmarks/plot_realistic_examples.py [--photos DIR] [--out PNG]
(default: ../shared/data/train/HR-photos -> docs/figures/realistic-defocus.png)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from defocus.data.realistic import random_region, render_realistic
from defocus.io import list_images, read_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", default="../shared/data/train/HR-photos")
    parser.add_argument("--out", default="docs/figures/realistic-defocus.png")
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    files = list_images(args.photos)
    rng = np.random.default_rng(args.seed)
    crop, margin = 256, 40
    fig, axes = plt.subplots(args.samples, 3, figsize=(9, 3 * args.samples))
    for row in axes:
        first, second = (read_image(files[int(i)]).pixels for i in rng.choice(len(files), 2))
        side = crop + 2 * margin
        background, texture = (random_region(rng, photo, side) for photo in (first, second))
        blurry, sharp, radius = render_realistic(background, texture, rng, margin=margin)
        row[0].imshow(blurry.permute(1, 2, 0).numpy())
        row[1].imshow(sharp.permute(1, 2, 0).numpy())
        shown = row[2].imshow(radius[0].numpy(), cmap="viridis", vmin=0, vmax=24)
        fig.colorbar(shown, ax=row[2], fraction=0.046, label="radius (px)")
        titles = ("blurry (camera output)", "all in focus", "blur map")
        for ax, title in zip(row, titles, strict=True):
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=60)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
