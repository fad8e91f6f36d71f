"""The default model in float32 vs bfloat16 autocast, same run: speed and agreement.

A photo (an HR training photo resized to ``--width x --height``, so not a test image)
is blurred with a disk of radius 3 px and noise σ = 0.01 and quantised to 8 bits, then
deblurred by :func:`defocus.infer.deblur` with ``precision="fp32"`` and
``precision="auto"`` (bfloat16 autocast where the CPU has native bfloat16 units),
alternately, ``--repeats`` times each; the best wall time of each is kept. Also
reported: the PSNR between the two 8-bit outputs (agreement), each output's PSNR
against the sharp photo, and a 4096² matmul in float32 and bfloat16 timed in the
same run (the chip's rates).

Usage::

    python benchmarks/bench_precision.py                       # 4 megapixels
    python benchmarks/bench_precision.py --width 6000 --height 4000 --repeats 1
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from defocus.bench.evaluate import restorer
from defocus.bench.protocols import load_cases
from defocus.degrade import add_noise, blur
from defocus.infer import deblur
from defocus.infer.loading import load_model
from defocus.metrics import psnr
from defocus.runtime.precision import autocast_dtype

PHOTOS = Path(__file__).resolve().parents[2] / "shared/data/train/HR-photos"
DATA = Path(__file__).resolve().parents[2] / "shared/data/test"


def matmul_rate(dtype: torch.dtype, size: int = 4096, repeats: int = 3) -> float:
    a, b = torch.rand(size, size).to(dtype), torch.rand(size, size).to(dtype)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def network_rate(tile: int = 576) -> None:
    """The default model's U-Net alone on one tile: GFLOP/s in fp32 and bf16 (NHWC)."""
    unet = load_model("default").fusion
    x = torch.rand(1, unet.enc0[0][0].in_channels, tile, tile)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode():
        with counter:
            unet(x)
        flops = float(counter.get_total_flops())
        cases = {
            "fp32": (x, contextlib.nullcontext),
            "bf16": (
                x.contiguous(memory_format=torch.channels_last),
                lambda: torch.autocast("cpu", dtype=torch.bfloat16),
            ),
        }
        for name, (tensor, context) in cases.items():
            best = float("inf")
            with context():
                unet(tensor)
                for _ in range(3):
                    start = time.perf_counter()
                    unet(tensor)
                    best = min(best, time.perf_counter() - start)
            rate = flops / best / 1e9
            reference = matmul_rate(torch.float32 if name == "fp32" else torch.bfloat16)
            print(
                f"U-Net {tile}² tile {name}: {rate:.0f} GFLOP/s = {rate / reference:.2f} of a "
                f"same-run {name} 4096² matmul ({reference:.0f} GFLOP/s)"
            )


def protocol(limit: int | None) -> None:
    """Mean PSNR (luma, vs sharp) of the default model in fp32 and auto, per radius."""
    cases = load_cases("defocus", DATA, limit=limit)
    scores: dict[str, dict[int, list[float]]] = {"fp32": {}, "auto": {}}
    seconds = dict.fromkeys(scores, 0.0)
    for precision in scores:
        run = restorer("model:default", precision)
        for case in cases:
            start = time.perf_counter()
            restored = run(case.blurry, case.psf).clamp(0, 1)
            seconds[precision] += time.perf_counter() - start
            value = float(psnr(restored.double(), case.sharp.double()))
            scores[precision].setdefault(case.radius, []).append(value)
    print(f"{len(cases)} cases (defocus protocol: luma, disk r = 1..5, noise 0.01)")
    print("| radius | fp32 | auto | difference |\n|---|---|---|---|")
    every = {p: [v for r in sorted(s) for v in s[r]] for p, s in scores.items()}
    for radius in sorted(scores["fp32"]):
        a, b = (float(np.mean(scores[p][radius])) for p in ("fp32", "auto"))
        print(f"| {radius} | {a:.3f} | {b:.3f} | {b - a:+.4f} |")
    a, b = (float(np.mean(every[p])) for p in ("fp32", "auto"))
    worst = max(abs(x - y) for x, y in zip(every["fp32"], every["auto"], strict=True))
    print(f"| mean | {a:.3f} | {b:.3f} | {b - a:+.4f} |")
    print(
        f"largest per-image difference {worst:.4f} dB; wall {seconds['fp32']:.0f} s fp32, "
        f"{seconds['auto']:.0f} s auto"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2450)
    parser.add_argument("--height", type=int, default=1633)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--photo", default="Bridge_by_Sander_Klootwijk.jpg")
    parser.add_argument(
        "--protocol",
        action="store_true",
        help="instead: mean PSNR of both precisions over the defocus protocol",
    )
    parser.add_argument("--limit", type=int, default=None, help="protocol images per set")
    args = parser.parse_args()
    if args.protocol:
        protocol(args.limit)
        return
    photo = Image.open(PHOTOS / args.photo).convert("RGB")
    photo = photo.resize((args.width, args.height), Image.Resampling.LANCZOS)
    sharp = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1)[None].float() / 255
    generator = torch.Generator().manual_seed(0)
    blurry = add_noise(blur(sharp, "disk:3"), 0.01, generator, clip=True)
    blurry = (blurry * 255).round() / 255
    print(f"{args.width}x{args.height} ({args.width * args.height / 1e6:.1f} MP), {args.photo}")
    print(f"auto precision on this CPU: {autocast_dtype('auto', torch.device('cpu'))}")
    print(
        f"matmul 4096²: fp32 {matmul_rate(torch.float32):.0f} GFLOP/s, "
        f"bf16 {matmul_rate(torch.bfloat16):.0f} GFLOP/s"
    )
    best = {"fp32": float("inf"), "auto": float("inf")}
    outputs = {}
    for _ in range(args.repeats):
        for precision in best:
            start = time.perf_counter()
            out = deblur(blurry, device="cpu", precision=precision)
            best[precision] = min(best[precision], time.perf_counter() - start)
            outputs[precision] = (out * 255).round() / 255
    megapixels = args.width * args.height / 1e6
    for precision, seconds in best.items():
        score = float(psnr(outputs[precision].double(), sharp.double()))
        print(
            f"{precision:>5}: {seconds:.2f} s ({seconds / megapixels:.2f} s/MP), "
            f"PSNR vs sharp {score:.3f} dB"
        )
    agree = float(psnr(outputs["auto"].double(), outputs["fp32"].double(), channels="rgb"))
    print(f"speed-up {best['fp32'] / best['auto']:.2f}x; outputs agree to {agree:.2f} dB (8-bit)")
    network_rate()
    print(f"blurry input: PSNR vs sharp {float(psnr(blurry.double(), sharp.double())):.3f} dB")


if __name__ == "__main__":
    main()
