"""Defocus detection on real photos: Fβ (β² = 0.3) and MAE against the CUHK masks.

Usage: python benchmarks/bench_blurmap_cuhk.py [--root ../shared/data/real/CUHK-defocus]
       [--first 401] [--last 500] [--method learned|gradient-ratio]
       [--figure docs/figures/blurmap-cuhk-learned.png] [--show first|worst]
       [--labelled benchmarks/other_photos.toml]

Scores an estimator of ``defocus.blurmap.ESTIMATORS`` image by image and prints the
means, with the time per image. The shipped ``learned`` estimator was fitted on CUHK
0001-0400 (``configs/blurmap.toml``; its detector on 0001-0350,
``scripts/train_defocus_detector.py``): report it on 0401-0500. The ``gradient-ratio``
baseline is fitted on nothing. The figure shows the first four photos, or with
``--show worst`` the four with the largest MAE. ``--labelled`` scores the photos of a
labels file (:func:`defocus.data.masks.read_labelled_photos`) on their labelled boxes
instead: real photos that are not in ``../shared``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from defocus.blurmap import DEFAULT_ESTIMATOR, ESTIMATORS, defocus_scores, estimate_blur_map
from defocus.data.masks import read_defocus_mask, read_labelled_photos
from defocus.io import read_image

CALIBRATION_BINS = 10
"""Bins of the expected calibration error (ECE): the pixel-weighted mean over bins of
|mean probability - fraction of pixels the mask calls defocused|."""

SHOWN = 4
"""Photos in the figure."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/real/CUHK-defocus")
    parser.add_argument("--first", type=int, default=401)
    parser.add_argument("--last", type=int, default=500)
    parser.add_argument("--method", choices=ESTIMATORS.names(), default=DEFAULT_ESTIMATOR)
    parser.add_argument("--figure", default="")
    parser.add_argument("--show", choices=("first", "worst"), default="first")
    parser.add_argument("--labelled", default="", help="labels file scored instead of CUHK")
    args = parser.parse_args()
    scores: dict[str, list[float]] = {"f_beta": [], "mae": [], "precision": [], "recall": []}
    shown = []
    bins = torch.zeros(3, CALIBRATION_BINS, dtype=torch.float64)  # count, sum p, sum mask
    start = time.perf_counter()
    for name, image, mask, known in _photos(args):
        estimate = estimate_blur_map(image, args.method)
        result = defocus_scores(estimate.probability, mask, known)
        labelled = known.flatten() >= 0.5
        p = estimate.probability.flatten().double()[labelled]
        bucket = (p * CALIBRATION_BINS).long().clamp(max=CALIBRATION_BINS - 1)
        for row, values in enumerate((torch.ones_like(p), p, mask.flatten().double()[labelled])):
            bins[row].index_add_(0, bucket, values)
        for key, value in result.items():
            scores[key].append(float(value))
        shown_mask = (mask * known + 0.5 * (1 - known))[0, 0]
        shown.append((float(result["mae"]), name, image[0], estimate.probability[0, 0], shown_mask))
        if args.show == "worst":
            shown.sort(key=lambda item: -item[0])
        del shown[SHOWN:]
    seconds = (time.perf_counter() - start) / len(scores["mae"])
    means = {key: float(np.mean(values)) for key, values in scores.items()}
    count = bins[0].clamp_min(1)
    means["ece"] = float(((bins[1] - bins[2]).abs() / count * bins[0]).sum() / bins[0].sum())
    source = args.labelled or f"CUHK {args.first:04d}-{args.last:04d}"
    print(
        f"{args.method}: {source} ({len(scores['mae'])} photos): "
        + ", ".join(f"{k} {v:.3f}" for k, v in means.items())
        + f"; {seconds:.2f} s/photo"
    )
    if args.figure:
        fig, axes = plt.subplots(len(shown), 3, figsize=(9, 2.4 * len(shown)))
        for row, (mae, name, image, probability, mask) in zip(axes, shown, strict=True):
            row[0].imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            row[1].imshow(probability.numpy(), cmap="gray", vmin=0, vmax=1)
            row[2].imshow(mask, cmap="gray", vmin=0, vmax=1)
            titles = (name, f"estimated P(defocus), MAE {mae:.2f}", "mask (grey: unlabelled)")
            for ax, title in zip(row, titles, strict=True):
                ax.set_title(title, fontsize=8)
                ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=60)
        print(f"wrote {args.figure}")


def _photos(
    args: argparse.Namespace,
) -> Iterator[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``(name, image, mask, known)`` of each photo scored, images ``(1, 3, H, W)``."""
    if args.labelled:
        for photo in read_labelled_photos(args.labelled):
            image = read_image(photo.path).pixels[None]
            yield (photo.path.stem, image, *photo.masks(*image.shape[-2:]))
        return
    root = Path(args.root)
    for index in range(args.first, args.last + 1):
        name = f"out_of_focus{index:04d}"
        image = read_image(root / "images" / f"{name}.jpg").pixels[None]
        mask = read_defocus_mask(root / "masks" / f"{name}.png")[None]
        yield name, image, mask, torch.ones_like(mask)


if __name__ == "__main__":
    main()
