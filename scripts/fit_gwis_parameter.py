"""Fit the GWIS blur parameter per pixel of estimated blur radius, on training photos.

Usage: python scripts/fit_gwis_parameter.py [--root ../shared/data/train/CBSD432]
       [--images 48] [--crop 160]

GWIS takes a blur parameter σ; the best one (by SSIM with the reference) is not simply
the Gaussian σ = r / 2 of the same second moment as a disk of radius r. For centre
crops of training photos, each degraded once as in the seed's Table 1
(:func:`defocus.blurmap.gwis_targets.seed_degradation`), this finds the best σ of the
sweep 0.5 ... 8 and the median estimated radius (``estimate_blur_map``) over the
pixels with structure, and prints the factor ``k`` of ``σ = k · r`` that fits best in
log scale (the median of ``log(σ_best / r)``), for r the estimated radius (``gwis-blind``)
and the PSF's true effective radius (``gwis`` with a known PSF): the values of
``defocus.classical.methods.GWIS_PER_RADIUS``. Test photos are never used.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from defocus.blurmap import estimate_blur_map, structure_mask
from defocus.blurmap.gwis_targets import GWIS_PARAMETERS, seed_degradation
from defocus.classical.gwis import gwis
from defocus.color import to_luma
from defocus.degrade.lens import effective_radius
from defocus.io import list_images, read_image
from defocus.metrics import ssim


def main() -> None:
    """Run the fit and print the factor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/train/CBSD432")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--estimator", default="learned")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    files = list_images(args.root)
    chosen = rng.choice(len(files), size=min(args.images, len(files)), replace=False)
    logs, true_logs = [], []
    for index in chosen:
        photo = read_image(files[int(index)]).pixels[None]
        top = (photo.shape[-2] - args.crop) // 2
        left = (photo.shape[-1] - args.crop) // 2
        crop = photo[..., top : top + args.crop, left : left + args.crop]
        sharp = to_luma(crop).double() if crop.shape[1] == 3 else crop.double()
        blurry, kernel, label = seed_degradation(sharp, rng)
        true_radius = effective_radius(kernel)
        scores = {s: float(ssim(gwis(blurry, s), sharp)) for s in GWIS_PARAMETERS}
        best = max(GWIS_PARAMETERS, key=lambda s: scores[s])
        gain = scores[best] - float(ssim(blurry, sharp))
        radius = estimate_blur_map(blurry.float(), args.estimator).radius
        where = structure_mask(sharp)
        estimated = float(radius[where].median()) if where.any() else 0.0
        if estimated > 0.5 and gain > 0.002:  # a blur GWIS can help, and one to measure
            logs.append(math.log(best / estimated))
        if true_radius > 0.5 and gain > 0.002:
            true_logs.append(math.log(best / true_radius))
        print(f"{files[int(index)].name}: {label}, best σ {best}, r̂ {estimated:.2f}", flush=True)
    for name, values in (("estimated", logs), ("true effective", true_logs)):
        k = math.exp(float(np.median(values)))
        spread = float(np.percentile(values, 75) - np.percentile(values, 25))
        print(
            f"{len(values)} crops: σ = {k:.3f} · r with r the {name} radius "
            f"(interquartile range of the log ratio {spread:.2f})"
        )


if __name__ == "__main__":
    main()
