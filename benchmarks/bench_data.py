"""Synthetic training pairs per second (one core), crop-then-blur vs blur-then-crop.

Usage: python benchmarks/bench_data.py [--images ../shared/data/train/CBSD432]
       [--count 2000] [--crop 128] [--preset defocus] [--luma]

The baseline blurs the whole image with the same PSF (``blur(..., "reflect")``) and
then crops: the naive way, with identical output. Both run in the same process on the
same (cached) images with one torch and one OpenCV thread. Rates are given per
wall-clock second and per CPU second of this process (``time.process_time``): on a
shared, overloaded machine the CPU-time rate is what one dedicated core delivers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import torch

from defocus.color import to_luma
from defocus.data import SyntheticDefocusDataset
from defocus.data.seeding import item_rng
from defocus.data.synthetic import _kernel
from defocus.degrade import add_noise, blur


def naive_item(ds: SyntheticDefocusDataset, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Blur the whole image (luma first if asked), then crop; no augmentation."""
    rng = item_rng(ds.seed, 0, index)
    params = ds.degradation.sample(rng)
    x = ds.store.array(index)
    image = torch.from_numpy(x).float().div(255.0)[None]
    if ds.luma:
        image = to_luma(image)
    blurry = blur(image, _kernel(params["kind"], params["size"]), "reflect")
    generator = torch.Generator().manual_seed(index)
    if params["noise_sigma"] > 0:
        blurry = add_noise(blurry, params["noise_sigma"], generator, clip=True)
    top = int(rng.integers(0, image.shape[2] - ds.crop + 1))
    left = int(rng.integers(0, image.shape[3] - ds.crop + 1))
    window = (0, slice(None), slice(top, top + ds.crop), slice(left, left + ds.crop))
    return blurry[window], image[window]


def rate(fn, count: int, n_images: int) -> tuple[float, float]:
    """Items per wall-clock second and per CPU second."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        fn(i % n_images)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", default="../shared/data/train/CBSD432")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--preset", default="defocus")
    parser.add_argument("--luma", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    images: object = args.images
    if not Path(args.images).is_dir():
        print(f"{args.images} not found: using 64 random 321x481 images")
        g = torch.Generator().manual_seed(0)
        images = [torch.rand(3, 321, 481, generator=g) for _ in range(64)]
    ds = SyntheticDefocusDataset(images, args.preset, crop=args.crop, luma=args.luma)
    n = min(len(ds), 200)
    for i in range(n):  # decode once so both paths read cached images
        ds.store.array(i)
    fast = rate(lambda i: ds[(1, i)], args.count, n)
    naive = rate(lambda i: naive_item(ds, i), max(args.count // 10, 50), n)
    print(f"preset={args.preset} crop={args.crop} luma={args.luma} images={n} threads=1")
    print("                                          pairs/s (wall)  pairs/s (CPU time)")
    print(f"crop-then-blur (SyntheticDefocusDataset): {fast[0]:10.0f}  {fast[1]:14.0f}")
    print(f"blur-then-crop (naive baseline):          {naive[0]:10.0f}  {naive[1]:14.0f}")
    print(f"speed-up (CPU time): {fast[1] / naive[1]:.1f}x")


if __name__ == "__main__":
    main()
