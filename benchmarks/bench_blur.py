"""Direct (conv2d, OpenCV) vs FFT blur per call for growing disks (picks DIRECT_MAX_TAPS).

``defocus.operators.blur.DIRECT_MAX_TAPS`` is the one direct-vs-FFT threshold.

Usage: python benchmarks/bench_blur.py [--size 256] [--batch 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

from defocus.degrade import blur, disk_kernel


def timeit(fn, repeats: int) -> float:
    for _ in range(3):  # warm-up (oneDNN picks and caches its kernels)
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(args.batch, 3, args.size, args.size)
    print(f"{args.batch}x3x{args.size}x{args.size} float32, {args.threads} thread(s)")
    print("kernel   conv2d_ms   opencv_ms   fft_ms   opencv/fft")
    for radius in (1, 2, 3, 4, 6, 8, 10, 12, 15, 20):
        k = disk_kernel(radius, dtype=torch.float32)
        direct = timeit(lambda k=k: blur(x, k, method="direct"), args.repeats)
        opencv = timeit(lambda k=k: blur(x, k, method="opencv"), args.repeats)
        fft = timeit(lambda k=k: blur(x, k, method="fft"), args.repeats)
        size = f"{k.shape[0]}x{k.shape[1]}"
        print(
            f"{size:>7}  {direct * 1e3:9.2f}  {opencv * 1e3:10.2f}  {fft * 1e3:7.2f}"
            f"   {opencv / fft:6.2f}"
        )


if __name__ == "__main__":
    main()
