"""Speed of the classical methods, with scikit-image measured side by side in the same run.

1. Richardson-Lucy on a 3-channel 768x768 image, same iteration count: ours batched
   (all channels in one call; zero padding like scikit-image, and the default mirror
   domain) versus ``skimage.restoration.richardson_lucy`` channel by channel.
2. Wiener likewise versus ``skimage.restoration.wiener``.
3. Time per image of every registered method (its default parameters) on the luma of
   a 500x500 Kodak image blurred by a 5x5 box (RED-FP: 200 iterations).

All times are CPU seconds (``time.process_time``), one thread by default (scipy's FFT
is single-threaded too), so they are comparable on a loaded shared machine.

Usage: python benchmarks/bench_classical.py [--iterations 30] [--skip red-sd] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "test" / "Kodak24"


def best_time(fn, repeats: int) -> float:
    """Best CPU time (``time.process_time``) of ``repeats`` calls after a warm-up.

    With one thread CPU seconds are what a dedicated core delivers, which is stable on
    a loaded shared machine where wall-clock time is not.
    """
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def kodak(name: str = "kodim01.png") -> torch.Tensor:
    path = KODAK / name
    if path.exists():
        return read_image(path).pixels[None].double()
    print(f"({path} missing: using a smooth random image)")
    coarse = torch.rand(1, 3, 50, 50, generator=torch.Generator().manual_seed(0))
    return F.interpolate(coarse.double(), size=(500, 500), mode="bicubic").clamp(0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=30, help="Richardson-Lucy iterations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (scipy uses 1)")
    parser.add_argument("--skip", nargs="*", default=["red-sd"], help="methods left out of part 3")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")

    psf = parse_psf("disk:3")
    photo = F.interpolate(kodak(), size=(768, 768), mode="bicubic").clamp(0, 1)
    y = blur(photo, psf, "reflect")
    y_np = y[0].numpy()
    n = args.iterations

    print(f"\n1. Richardson-Lucy, 3x768x768, disk:3, {n} iterations")
    sk = best_time(
        lambda: [sk_richardson_lucy(c, psf.numpy(), n, clip=False) for c in y_np], args.repeats
    )
    print(f"  scikit-image, channel by channel (float64): {sk:8.3f} s")
    sk32 = best_time(
        lambda: [
            sk_richardson_lucy(c.astype(np.float32), psf.numpy().astype(np.float32), n, clip=False)
            for c in y_np
        ],
        args.repeats,
    )
    print(f"  scikit-image, channel by channel (float32): {sk32:8.3f} s")
    for dtype in (torch.float64, torch.float32):
        for padding in ("zeros", "mirror"):
            t = best_time(
                lambda d=dtype, p=padding: richardson_lucy(y.to(d), psf, n, padding=p, init=0.5),
                args.repeats,
            )
            name = str(dtype).removeprefix("torch.")
            base = sk if dtype == torch.float64 else sk32
            print(
                f"  ours batched {name:7s} padding={padding:6s}: {t:8.3f} s  "
                f"({base / t:5.1f}x vs scikit-image {name}, {sk / t:5.1f}x vs float64)"
            )

    print("\n2. Wiener, 3x768x768, disk:3, balance 1e-3")
    sk = best_time(lambda: [sk_wiener(c, psf.numpy(), 1e-3, clip=False) for c in y_np], 3)
    print(f"  scikit-image, channel by channel (float64): {sk:8.3f} s")
    for padding in ("circular", "mirror"):
        t = best_time(lambda p=padding: wiener(y, psf, 1e-3, "laplacian", p), args.repeats)
        print(f"  ours batched float64 padding={padding:8s}: {t:8.3f} s  ({sk / t:5.1f}x)")

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
