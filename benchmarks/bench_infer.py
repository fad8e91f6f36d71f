"""Inference benchmark: peak memory, time per megapixel and FLOP rate of tiled deblurring.

Each measured deblur runs in its own subprocess, the 24-megapixel one first, so that
its peak resident memory is ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of the
parent (whole process: Python, torch, the photo and the output included). The network is
``--model``: the shipped default model (``default``, as ``defocus deblur`` runs it), any
weights name or file, or a registered architecture with seeded random weights (speed
and memory do not depend on the weights); luma model on an RGB photo (Y restored,
chroma kept).

The FLOP count per pixel comes from ``torch.utils.flop_counter.FlopCounterMode`` on
one tile (convolutions and transposed convolutions; BatchNorm, which deblur() folds
into the convolutions, activations, pooling, FFTs (WienerUNet's Wiener bank) and the
colour conversion are not counted), and
is multiplied by the pixels actually processed, overlaps included. The reference rate
is a 4096x4096 float32 ``torch.mm`` timed in the same run, before and after (best of
each).

Usage::

    python benchmarks/bench_infer.py                     # 6000x4000 photo, automatic tiles
    python benchmarks/bench_infer.py --model arknet      # random-weight ARKNet
    python benchmarks/bench_infer.py --width 2000 --height 1500 --json out.json
    python benchmarks/bench_infer.py --photo blurred.png   # e.g. large blur: coarse pass on
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from defocus.infer import deblur, tile_spans
from defocus.infer.deblur import AUTO_TILE, auto_tile
from defocus.infer.fusion import fold_batchnorm
from defocus.infer.loading import load_model
from defocus.models import MODELS, create_model
from defocus.runtime.tiling import with_context

PHOTO = Path(__file__).resolve().parents[2] / "shared/data/test/Kodak24"


def make_model(spec: str) -> torch.nn.Module:
    """The network ``spec`` names: an architecture (seeded random weights) or weights."""
    if spec in MODELS:
        torch.manual_seed(0)
        return create_model(spec).eval()
    return load_model(spec)


def make_photo(width: int, height: int, path: Path | None = None) -> tuple[np.ndarray, str]:
    """An RGB uint8 photo of the requested size: ``path`` or a Kodak image resized, else noise."""
    files = [path] if path is not None else sorted(PHOTO.glob("*.png"))
    if files:
        small = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)[..., ::-1]
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), files[0].name
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "random noise"


def child(args: argparse.Namespace) -> None:
    """Deblur one photo and print a JSON line with the timing (run as a subprocess)."""
    photo, source = make_photo(args.width, args.height, args.photo)
    model = make_model(args.model)
    start, cpu_start = time.perf_counter(), time.process_time()
    out = deblur(photo, model, tile=args.tile, overlap=args.overlap, device="cpu")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    assert out.shape == photo.shape and out.dtype == photo.dtype
    own_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"seconds": seconds, "cpu_seconds": cpu_seconds, "source": source}
    print(json.dumps({**report, "own_peak_kb": own_peak_kb}))


def run_child(
    model: str, width: int, height: int, tile: int | None, overlap: int, photo: Path | None
) -> dict[str, float]:
    """Run :func:`child` in a subprocess; return its timing and peak RSS in MB.

    The peak is ``RUSAGE_CHILDREN`` of this process when it rises with this child (it
    is the maximum over all children so far), and the child's own ``RUSAGE_SELF``
    maximum (the same quantity, measured inside) otherwise.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    command = [sys.executable, __file__, "--child", f"--model={model}"]
    command += [f"--width={width}", f"--height={height}"]
    command += [f"--overlap={overlap}"] + ([f"--tile={tile}"] if tile is not None else [])
    command += [] if photo is None else [f"--photo={photo}"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["peak_rss_mb"] = (after if after > before else data["own_peak_kb"]) / 1024
    data["peak_from"] = "RUSAGE_CHILDREN" if after > before else "child RUSAGE_SELF"
    return data


def matmul_gflops(repeats: int = 3, size: int = 4096) -> tuple[float, float]:
    """Best float32 ``torch.mm`` rates in GFLOP/s: per wall-clock and per CPU second."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
    return 2 * size**3 / best / 1e9, 2 * size**3 / best_cpu / 1e9


def tile_flops_and_time(spec: str, tile: int) -> tuple[float, float]:
    """Model FLOPs of one ``tile`` x ``tile`` luma tile and its best time in seconds."""
    model = fold_batchnorm(make_model(spec))  # as deblur() runs it
    x = torch.rand(1, 1, tile, tile)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode():
        with counter:
            model(x)
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
    return float(counter.get_total_flops()), best


def processed_pixels(
    height: int, width: int, tile: int | None, overlap: int, multiple: int, context: int
) -> int:
    """Pixels fed to the network, overlaps and context margins counted as processed."""
    tile = auto_tile(height, width, tile)
    if tile is None:
        return height * width
    context = -(-context // multiple) * multiple
    rows = [with_context(s, context, height) for s in tile_spans(height, tile, overlap, multiple)]
    cols = [with_context(s, context, width) for s in tile_spans(width, tile, overlap, multiple)]
    return sum(r1 - r0 for r0, r1 in rows) * sum(c1 - c0 for c0, c1 in cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="weights or architecture name")
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--tile", type=int, default=None, help="default: the auto rule")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--compare-side", type=int, default=1024, help="whole vs tiled check")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--photo", type=Path, default=None, help="the 24 MP photo (resized); default Kodak"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    tile = auto_tile(args.height, args.width, args.tile)
    load_before = os.getloadavg()[0]
    mm_before = matmul_gflops()
    flops_tile, tile_seconds = tile_flops_and_time(args.model, tile or AUTO_TILE)
    flops_per_pixel = flops_tile / (tile or AUTO_TILE) ** 2
    network = make_model(args.model)
    multiple, context = network.multiple, network.context
    big = run_child(args.model, args.width, args.height, args.tile, args.overlap, args.photo)
    side = args.compare_side
    tiled_small = run_child(args.model, side, side, AUTO_TILE, args.overlap, args.photo)
    whole_small = run_child(args.model, side, side, 0, args.overlap, args.photo)
    mm_after = matmul_gflops()
    load_after = os.getloadavg()[0]

    megapixels = args.width * args.height / 1e6
    mm_rate = max(mm_before[0], mm_after[0])
    mm_cpu_rate = max(mm_before[1], mm_after[1])
    processed = processed_pixels(
        args.height, args.width, args.tile, args.overlap, multiple, context
    )
    achieved = flops_per_pixel * processed / big["seconds"] / 1e9
    achieved_cpu = flops_per_pixel * processed / big["cpu_seconds"] / 1e9
    report = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}",
        "load_average_1min_before_after": [load_before, load_after],
        "image": f"{args.width}x{args.height} RGB uint8 ({big['source']}), {args.model} luma",
        "tile": tile,
        "overlap": args.overlap,
        "seconds": big["seconds"],
        "seconds_per_megapixel": big["seconds"] / megapixels,
        "cpu_seconds": big["cpu_seconds"],
        "cpu_seconds_per_megapixel": big["cpu_seconds"] / megapixels,
        "peak_rss_mb": big["peak_rss_mb"],
        "processed_over_image_pixels": processed / (args.width * args.height),
        "model_gflop_per_megapixel": flops_per_pixel * 1e6 / 1e9,
        "achieved_gflops": achieved,
        "single_tile_gflops": flops_tile / tile_seconds / 1e9,
        "achieved_gflop_per_cpu_second": achieved_cpu,
        "matmul_gflops_before_after": [mm_before[0], mm_after[0]],
        "matmul_gflop_per_cpu_second_before_after": [mm_before[1], mm_after[1]],
        "fraction_of_matmul": achieved / mm_rate,
        "fraction_of_matmul_cpu_time": achieved_cpu / mm_cpu_rate,
        f"whole_{side}px": whole_small,
        f"tiled_{side}px": tiled_small,
        "tiled_over_whole_time": tiled_small["seconds"] / whole_small["seconds"],
        "tiled_over_whole_cpu_time": tiled_small["cpu_seconds"] / whole_small["cpu_seconds"],
        "tiled_over_whole_processed_pixels": processed_pixels(
            side, side, AUTO_TILE, args.overlap, multiple, context
        )
        / side**2,
        "tiled_over_whole_peak_rss": tiled_small["peak_rss_mb"] / whole_small["peak_rss_mb"],
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
