"""Large defocus at full resolution: a 4-megapixel photo blurred by a big disk, restored.

Usage: python benchmarks/eval_large_blur.py PHOTO [--radius 16] [--side 2304x1728]
       [--model default --model wiener-unet-defocus-v1] [--tiles]

The photo is centre-cropped (after a resize if it is smaller) to ``--side``, blurred
by an anti-aliased disk of ``--radius`` px (reflect-101 borders), given Gaussian noise
σ = 0.01 (seeded) and rounded to 8 bits; each ``--model`` restores it blind (RGB, as
``defocus deblur``). Prints PSNR of input and outputs (RGB, 8-bit) and the gain, with
the wall time. ``--tiles`` also restores it whole (``tile=0``) and reports the largest
difference from the tiled default, in 8-bit levels.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from defocus.degrade import add_noise, blur, disk_kernel
from defocus.infer import deblur
from defocus.io import quantise, read_image
from defocus.metrics import psnr


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--radius", type=float, default=16.0)
    parser.add_argument("--side", default="2304x1728", help="WIDTHxHEIGHT of the crop")
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--tiles", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.side.split("x"))
    photo = read_image(args.photo).pixels[None, :3].double()
    scale = max(height / photo.shape[-2], width / photo.shape[-1], 1.0)
    if scale > 1:
        size = (round(photo.shape[-2] * scale), round(photo.shape[-1] * scale))
        photo = F.interpolate(photo, size=size, mode="bicubic", align_corners=False)
    top, left = (photo.shape[-2] - height) // 2, (photo.shape[-1] - width) // 2
    sharp = quantise(photo[..., top : top + height, left : left + width].clamp(0, 1), 8)
    blurred = blur(sharp, disk_kernel(args.radius), "reflect-101")
    generator = torch.Generator().manual_seed(0)
    blurry = quantise(add_noise(blurred, 0.01, generator, clip=True), 8).float()
    sharp = sharp.float()
    before = float(psnr(blurry, sharp, channels="rgb"))
    print(
        f"{args.photo}: {width}x{height}, disk r={args.radius:g}, σ 0.01, 8-bit; "
        f"blurry {before:.2f} dB"
    )
    for model in args.model or ["default"]:
        start = time.perf_counter()
        restored = quantise(deblur(blurry, model=model).double(), 8).float()
        seconds = time.perf_counter() - start
        after = float(psnr(restored, sharp, channels="rgb"))
        print(f"  {model}: {after:.2f} dB ({after - before:+.2f} dB), {seconds:.1f} s")
        if args.tiles:
            whole = quantise(deblur(blurry, model=model, tile=0).double(), 8).float()
            levels = float((whole - restored).abs().max()) * 255
            print(f"    tiled vs whole image: max difference {levels:.0f}/255")


if __name__ == "__main__":
    main()
