"""Speed of the classical methods, with scikit-image measured side by side in the same run.

1. Richardson-Lucy on a 3-channel 768x768 image, same PSF, iteration count and dtype:
   ours batched (all channels in one call; zero padding like scikit-image, which is
   checked to give the same result, and the default mirror domain) versus
   ``skimage.restoration.richardson_lucy`` channel by channel, for a small PSF (disk:3,
   7x7, and box:5: direct convolution) and a large one (disk:10, 21x21: FFT).
2. Wiener likewise versus ``skimage.restoration.wiener``.
3. Time per image of every registered method (its default parameters) on the luma of
   a 500x500 Kodak image blurred by a 5x5 box (RED-FP: 200 iterations).

Times are CPU seconds (``time.process_time``, stable on a loaded shared machine) and
wall-clock seconds, each the best of ``--repeats`` calls after a warm-up. scipy's FFT
(scikit-image) runs on one thread; ours on ``--threads`` torch and OpenCV threads.

Usage: python benchmarks/bench_classical.py [--iterations 30] [--skip red-sd] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from skimage.restoration import richardson_lucy as sk_richardson_lucy
from skimage.restoration import wiener as sk_wiener

from defocus.classical import create_method, list_methods, richardson_lucy, wiener
from defocus.color import to_luma
from defocus.degrade.blur import blur
from defocus.degrade.kernels import parse_psf
from defocus.io import read_image
from defocus.operators import DIRECT_MAX_TAPS

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "test" / "Kodak24"


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best CPU time (``time.process_time``) and best wall time of ``repeats`` calls.

    One warm-up call first. CPU seconds are what the process got from the cores, which
    is stable on a loaded shared machine where wall-clock time is not.
    """
    fn()  # warm-up
    cpu = wall = float("inf")
    for _ in range(repeats):
        start, start_wall = time.process_time(), time.perf_counter()
        fn()
        cpu = min(cpu, time.process_time() - start)
        wall = min(wall, time.perf_counter() - start_wall)
    return cpu, wall


def ratio(base: tuple[float, float], t: tuple[float, float]) -> str:
    """``CPU s, wall s, speed-up in CPU and wall time`` of ``t`` against ``base``."""
    return f"{t[0]:7.3f} {t[1]:7.3f}   {base[0] / t[0]:5.1f}x {base[1] / t[1]:5.1f}x"


def kodak(name: str = "kodim01.png") -> torch.Tensor:
    path = KODAK / name
    if path.exists():
        return read_image(path).pixels[None].double()
    print(f"({path} missing: using a smooth random image)")
    coarse = torch.rand(1, 3, 50, 50, generator=torch.Generator().manual_seed(0))
    return F.interpolate(coarse.double(), size=(500, 500), mode="bicubic").clamp(0, 1)


def bench_richardson_lucy(photo: torch.Tensor, spec: str, n: int, repeats: int) -> None:
    """Part 1 for one PSF: scikit-image channel by channel against our batched call."""
    psf = parse_psf(spec)
    y = blur(photo, psf, "reflect")
    print(f"\n1. Richardson-Lucy, 3x768x768, {spec} ({psf.shape[0]}x{psf.shape[1]}), {n} it.")
    print(f"  {'':44s} {'CPU s':>7s} {'wall s':>7s}   {'CPU':>6s} {'wall':>6s}")
    for dtype in (torch.float32, torch.float64):
        name = str(dtype).removeprefix("torch.")
        yd, kd = y.to(dtype), psf.to(dtype)
        planes, kernel = yd[0].numpy(), kd.numpy()
        sk_out = np.stack([sk_richardson_lucy(c, kernel, n, clip=False) for c in planes])
        sk = best_time(
            lambda p=planes, k=kernel: [sk_richardson_lucy(c, k, n, clip=False) for c in p],
            repeats,
        )
        print(f"  scikit-image {name}, channel by channel (baseline) {ratio(sk, sk)}")
        direct = psf.numel() <= DIRECT_MAX_TAPS  # else auto is FFT, and FFT mirror is slow
        cases = (("zeros", "auto"), ("zeros", "fft"), ("mirror", "auto"))
        for padding, method in cases if direct else cases[:1]:
            run = partial(richardson_lucy, yd, kd, n, padding, init=0.5, method=method)
            t = best_time(run, repeats)
            label = f"ours {name} batched, {padding}, method={method}"
            diff = ""
            if padding == "zeros":
                diff = f"   max |ours - skimage| {np.abs(run()[0].numpy() - sk_out).max():.1e}"
            print(f"  {label:44s} {ratio(sk, t)}{diff}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=30, help="Richardson-Lucy iterations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help=f"torch and OpenCV threads (scipy uses 1; this process may use "
        f"{len(os.sched_getaffinity(0))} cores, but more threads than idle cores slow down)",
    )
    parser.add_argument("--skip", nargs="*", default=["red-sd"], help="methods left out of part 3")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    print(f"torch {torch.__version__}, OpenCV {cv2.__version__}, {args.threads} thread(s)")

    photo = F.interpolate(kodak(), size=(768, 768), mode="bicubic").clamp(0, 1)
    for spec in ("disk:3", "box:5", "disk:10"):
        bench_richardson_lucy(photo, spec, args.iterations, args.repeats)

    psf = parse_psf("disk:3")
    y = blur(photo, psf, "reflect")
    y_np = y[0].numpy()
    print("\n2. Wiener, 3x768x768, disk:3, balance 1e-3, float64 (CPU s, wall s, speed-ups)")
    sk = best_time(lambda: [sk_wiener(c, psf.numpy(), 1e-3, clip=False) for c in y_np], 3)
    print(f"  scikit-image, channel by channel: {ratio(sk, sk)}")
    for padding in ("circular", "mirror"):
        t = best_time(lambda p=padding: wiener(y, psf, 1e-3, "laplacian", p), args.repeats)
        print(f"  ours batched, padding={padding:8s}: {ratio(sk, t)}")

    print("\n3. Every method, luma of a 500x500 Kodak image, box:5, float32, default parameters")
    luma = to_luma(kodak()).float()
    yb = blur(luma, "box:5", "reflect")
    for name in list_methods():
        if name in args.skip:
            print(f"  {name:16s} skipped")
            continue
        method = create_method(name)
        start = time.process_time()
        out = method(yb, "box:5")
        elapsed = time.process_time() - start
        mse = (out.clamp(0, 1) - luma).square().mean().item()
        print(f"  {name:16s} {elapsed:8.2f} s   PSNR {10 * np.log10(1 / mse):6.2f} dB")


if __name__ == "__main__":
    main()
