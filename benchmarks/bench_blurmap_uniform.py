"""Blur map against GCV on photos blurred whole by one disk (the defocus protocol's blur).

Usage: python benchmarks/bench_blurmap_uniform.py [--root ../shared/data/test/Kodak24]
       [--limit 8] [--radius 0 --radius 1 ...]

Each photo (luma) is blurred by a disk of each radius (none for 0; reflect-101
borders), given Gaussian noise σ = 0.01 (seeded) and rounded to 8 bits. Printed per
radius: the blur map's median radius over each photo's structure pixels
(:func:`defocus.blurmap.structure_mask` of the sharp photo), their median, the mean
defocus probability, GCV's global disk estimate of each photo
(:func:`defocus.classical.blind.estimate_disk_blur`) and the median of its local GCV
estimates in 128 px windows (:func:`defocus.classical.blind.local_disk_radius`, as
the default model's coarse pass reads them). The default model's fusion leans
on the blur map; where it misreads uniform blur that GCV reads exactly, the model loses
to v1 (``docs/default-model.md``, defocus protocol).
"""

from __future__ import annotations

import argparse
import statistics

import torch

from defocus.blurmap import estimate_blur_map, structure_mask
from defocus.classical.blind import DISK_RADII, estimate_disk_blur, local_disk_radius
from defocus.color import to_luma
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.io import list_images, quantise, read_image


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data/test/Kodak24")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--radius", type=float, action="append", default=[])
    args = parser.parse_args()
    files = list_images(args.root)[: args.limit]
    photos = [to_luma(read_image(f).pixels[None].double()) for f in files]
    for radius in args.radius or [0.0, 1.0, 2.0, 3.0]:
        medians, probabilities, gcv, local = [], [], [], []
        for sharp in photos:
            blurred = blur(sharp, disk_kernel(radius), "reflect-101") if radius > 0 else sharp
            noisy = add_noise(blurred, 0.01, torch.Generator().manual_seed(0), clip=True)
            blurry = quantise(noisy, 8).float()
            maps = estimate_blur_map(blurry)
            medians.append(float(maps.radius[structure_mask(sharp)].median()))
            probabilities.append(float(maps.probability.mean()))
            gcv.append(float(estimate_disk_blur(blurry, DISK_RADII).radius[0]))
            local.append(float(local_disk_radius(blurry).median()))
        print(
            f"r = {radius:g}: blur map per photo {', '.join(f'{v:.2f}' for v in medians)} "
            f"(median {statistics.median(medians):.2f}); mean P "
            f"{statistics.fmean(probabilities):.2f}; GCV {', '.join(f'{v:.2f}' for v in gcv)}; "
            f"local GCV {', '.join(f'{v:.2f}' for v in local)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
