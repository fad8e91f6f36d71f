"""Uniform disk blur on photos a model never trained on: better than the input and blind Wiener?

Usage: python benchmarks/eval_unseen_photos.py PHOTO... [--radii 1,2,3,4,5] [--side 1024x768]
       [--methods blurry,wiener-blind,model:wiener-unet-defocus-v1,model:default]

Each photo is centre-cropped to ``--side`` (its luma), blurred by an anti-aliased disk
of each radius (reflect-101 borders), given Gaussian noise σ = 0.01 (seeded by photo and
radius) and rounded to 8 bits; each method (:func:`defocus.bench.evaluate.restorer`)
restores it and is scored by PSNR against the crop. Prints the mean PSNR per method
and radius, and for each method whether it is at least as good as ``wiener-blind``
and better than ``blurry`` at every radius. The default model's recipe
(``configs/default_v2.toml``) holds out the last 6 HR photos by name: pass those.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from defocus.bench.evaluate import restorer
from defocus.color import to_luma
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.io import quantise, read_image
from defocus.metrics import psnr


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--radii", default="1,2,3,4,5")
    parser.add_argument("--side", default="1024x768", help="WIDTHxHEIGHT of the centre crop")
    parser.add_argument(
        "--methods", default="blurry,wiener-blind,model:wiener-unet-defocus-v1,model:default"
    )
    args = parser.parse_args()
    radii = [float(r) for r in args.radii.split(",")]
    methods = args.methods.split(",")
    width, height = (int(v) for v in args.side.split("x"))
    restorers = {name: restorer(name) for name in methods}
    scores = {(m, r): [] for m in methods for r in radii}
    for index, path in enumerate(args.photos):
        photo = to_luma(read_image(path).pixels[None, :3]).double()
        top = max(0, (photo.shape[-2] - height) // 2)
        left = max(0, (photo.shape[-1] - width) // 2)
        sharp = quantise(photo[..., top : top + height, left : left + width], 8)
        for k, radius in enumerate(radii):
            psf = disk_kernel(radius)
            generator = torch.Generator().manual_seed(1000 * index + k)
            noisy = add_noise(blur(sharp, psf, "reflect-101"), 0.01, generator, clip=True)
            blurry = quantise(noisy, 8).float()
            for name, restore in restorers.items():
                with torch.no_grad():
                    out = quantise(restore(blurry, psf).double().clamp(0, 1), 8)
                scores[(name, radius)].append(float(psnr(out.float(), sharp.float())))
        print(f"{Path(path).name}: done", flush=True)
    means = {key: sum(values) / len(values) for key, values in scores.items()}
    header = "| method | " + " | ".join(f"r={r:g}" for r in radii) + " | mean |"
    print(header + "\n|" + ":--|" + "--:|" * (len(radii) + 1))
    for name in methods:
        row = [means[(name, r)] for r in radii]
        print(
            f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + f" | {sum(row) / len(row):.2f} |"
        )
    for name in methods:
        if name in ("blurry", "wiener-blind"):
            continue
        beats_input = all(
            means[(name, r)] > means[("blurry", r)] for r in radii if ("blurry", r) in means
        )
        vs_wiener = [
            means[(name, r)] - means[("wiener-blind", r)]
            for r in radii
            if ("wiener-blind", r) in means
        ]
        worst = min(vs_wiener) if vs_wiener else math.nan
        print(
            f"{name}: better than the input at every radius: {beats_input}; "
            f"worst margin over blind Wiener {worst:+.2f} dB"
        )


if __name__ == "__main__":
    main()
