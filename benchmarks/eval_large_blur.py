"""Large defocus at full resolution: a 4-megapixel photo blurred by a big disk, restored.

Usage: python benchmarks/eval_large_blur.py PHOTO... [--radius 16 --radius 24]
       [--side 2304x1728] [--model default --model wiener-unet-defocus-v1] [--tiles]

Each photo is centre-cropped (after a resize if it is smaller) to ``--side``, blurred
by an anti-aliased disk of each ``--radius`` px (reflect-101 borders), given Gaussian
noise σ = 0.01 (seeded) and rounded to 8 bits; each ``--model`` restores it blind (RGB,
as ``defocus deblur``). Prints PSNR of input and outputs (RGB, 8-bit) and the gain, with
the wall time, then each model's mean gain per radius over the photos. ``--tiles`` also
restores it whole (``tile=0``) and reports the largest difference from the tiled
default, in 8-bit levels. ``--half`` blurs only the right half (a sharp subject beside
a defocused background, no occlusion) and reports each half's PSNR separately.
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
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--radius", type=float, action="append", default=[])
    parser.add_argument("--side", default="2304x1728", help="WIDTHxHEIGHT of the crop")
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--tiles", action="store_true")
    parser.add_argument("--half", action="store_true", help="blur the right half only")
    args = parser.parse_args()
    width, height = (int(v) for v in args.side.split("x"))
    models = args.model or ["default"]
    gains: dict[tuple[str, float], list[float]] = {}
    for path in args.photos:
        sharp = load_crop(path, width, height)
        for radius in args.radius or [16.0]:
            restored = restore_all(path, sharp, radius, models, args.tiles, args.half)
            for model, gain in restored.items():
                gains.setdefault((model, radius), []).append(gain)
    print("mean gain over the photos:")
    for (model, radius), values in gains.items():
        mean = sum(values) / len(values)
        print(f"  {model}, r={radius:g}: {mean:+.2f} dB ({len(values)} photos)")


def load_crop(path: str, width: int, height: int) -> torch.Tensor:
    """The photo resized up to cover ``width x height`` if smaller, centre-cropped, 8-bit."""
    photo = read_image(path).pixels[None, :3].double()
    scale = max(height / photo.shape[-2], width / photo.shape[-1], 1.0)
    if scale > 1:
        size = (round(photo.shape[-2] * scale), round(photo.shape[-1] * scale))
        photo = F.interpolate(photo, size=size, mode="bicubic", align_corners=False)
    top, left = (photo.shape[-2] - height) // 2, (photo.shape[-1] - width) // 2
    return quantise(photo[..., top : top + height, left : left + width].clamp(0, 1), 8)


def restore_all(
    path: str, sharp: torch.Tensor, radius: float, models: list[str], tiles: bool, half: bool
) -> dict[str, float]:
    """Blur ``sharp`` by a disk of ``radius``, restore it with each model; gains in dB.

    With ``half`` only the right half is blurred; the gain is that of the blurred half.
    """
    blurred = blur(sharp, disk_kernel(radius), "reflect-101")
    middle = sharp.shape[-1] // 2
    if half:
        blurred = torch.cat([sharp[..., :middle], blurred[..., middle:]], dim=-1)
    generator = torch.Generator().manual_seed(0)
    blurry = quantise(add_noise(blurred, 0.01, generator, clip=True), 8).float()
    reference = sharp.float()
    halves = {"sharp half": slice(0, middle), "blurred half": slice(middle, None)}

    def score(image: torch.Tensor) -> str:
        if not half:
            return f"{float(psnr(image, reference, channels='rgb')):.2f} dB"
        parts = (
            f"{name} {float(psnr(image[..., c], reference[..., c], channels='rgb')):.2f} dB"
            for name, c in halves.items()
        )
        return ", ".join(parts)

    columns = halves["blurred half"] if half else slice(None)
    before = float(psnr(blurry[..., columns], reference[..., columns], channels="rgb"))
    height, width = sharp.shape[-2:]
    kind = "right half blurred by a disk" if half else "disk"
    print(f"{path}: {width}x{height}, {kind} r={radius:g}, σ 0.01, 8-bit; blurry {score(blurry)}")
    gains = {}
    for model in models:
        start = time.perf_counter()
        restored = quantise(deblur(blurry, model=model).double(), 8).float()
        seconds = time.perf_counter() - start
        after = float(psnr(restored[..., columns], reference[..., columns], channels="rgb"))
        gains[model] = after - before
        print(f"  {model}: {score(restored)} ({after - before:+.2f} dB), {seconds:.1f} s")
        if tiles:
            whole = quantise(deblur(blurry, model=model, tile=0).double(), 8).float()
            levels = float((whole - restored).abs().max()) * 255
            print(f"    tiled vs whole image: max difference {levels:.0f}/255")
    return gains


if __name__ == "__main__":
    main()
