"""The GWIS seed's Table 1 on this project's test photos: blurred, GWIS with the best
parameter per image (by SSIM), GWIS with estimated per-pixel parameters.

Usage: python benchmarks/gwis_table1.py [--root ../shared/data/test] [--limit N]
       [--out docs/gwis-table1.csv]

Setting (seed §5, TID2013 replaced by Kodak24 + CBSD68, luma): per image one random
blur of the seed's three families (Gaussian of σ = level, disk or ring of radius =
level), level uniform in [0, 6]; Gaussian noise of variance uniform in [0, 10] on the
0..255 scale; 8-bit rounding. GWIS parameters 0.5, 1.0, ..., 8.0; each estimator of
``--estimators`` runs ``gwis-blind``: σ = k · r per pixel, r from that blur-map
estimator (``learned``: the shipped network; ``gwis-cnn``: the seed's CNN, whose r is
twice its best parameter) and k of ``defocus.classical.methods.GWIS_PER_RADIUS``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from defocus.blurmap.gwis_targets import GWIS_PARAMETERS, seed_degradation
from defocus.classical.gwis import gwis
from defocus.classical.methods import create_method
from defocus.color import to_luma
from defocus.io import list_images, read_image
from defocus.metrics import psnr, ssim

LEVELS = GWIS_PARAMETERS
PAPER = {"blurred": (24.87, 0.7022), "best": (25.22, 0.7207), "estimated": (25.16, 0.7192)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/test")
    parser.add_argument("--limit", type=int, default=0, help="images per dataset (0 = all)")
    parser.add_argument("--out", default="docs/gwis-table1.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--estimators",
        default="learned,gwis-cnn",
        help="comma-separated blur-map estimators for gwis-blind (defocus.blurmap.ESTIMATORS)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    estimators = [name for name in args.estimators.split(",") if name]
    blind = {name: create_method("gwis-blind", estimator=name) for name in estimators}
    rows = []
    start = time.perf_counter()
    for dataset in ("Kodak24", "CBSD68"):
        files = list_images(Path(args.root) / dataset)
        for path in files[: args.limit or None]:
            sharp = to_luma(read_image(path).pixels[None]).double()
            blurry, _, label = seed_degradation(sharp, rng)
            scores = {}
            for level in LEVELS:  # the same blur-level sweep as the seed
                sharpened = gwis(blurry, level)
                scores[level] = (float(psnr(sharpened, sharp)), float(ssim(sharpened, sharp)))
            best = max(LEVELS, key=lambda s: scores[s][1])
            row = {
                "image": f"{dataset}/{path.name}",
                "degradation": label,
                "psnr_blurred": float(psnr(blurry, sharp)),
                "ssim_blurred": float(ssim(blurry, sharp)),
                "best_sigma": best,
                "psnr_best": scores[best][0],
                "ssim_best": scores[best][1],
            }
            for name, method in blind.items():
                estimated = method(blurry, None)
                row[f"psnr_{name}"] = float(psnr(estimated, sharp))
                row[f"ssim_{name}"] = float(ssim(estimated, sharp))
            rows.append(row)
            print(f"{row['image']}: {label}, best σ {best}", flush=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    columns = [key for key in rows[0] if key.startswith(("psnr", "ssim"))]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in columns}
    for name in ("blurred", "best", *estimators):
        paper = PAPER.get(name, PAPER["estimated"])
        print(
            f"{name:14s} PSNR {mean['psnr_' + name]:.2f} SSIM {mean['ssim_' + name]:.4f}"
            f"   (paper {paper[0]:.2f} / {paper[1]:.4f})"
        )
    gain = {m: mean[f"{m}_best"] - mean[f"{m}_blurred"] for m in ("psnr", "ssim")}
    for name in estimators:
        share = {m: (mean[f"{m}_{name}"] - mean[f"{m}_blurred"]) / gain[m] for m in gain}
        print(f"{name}: gain / best gain: PSNR {share['psnr']:.0%}, SSIM {share['ssim']:.0%}")
    print(f"{len(rows)} images, {time.perf_counter() - start:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
