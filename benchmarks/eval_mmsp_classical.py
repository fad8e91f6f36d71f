"""Classical methods on the MMSP 2024 synthetic protocol, next to the paper's Table II.

Protocol (``defocus.data.mmsp_synthetic_dataset``): luma Y of Kodak24 and CBSD68
(``../shared/data/test``), 5x5 box blur with OpenCV's reflect-101 border, no noise.
For each method: mean PSNR, SSIM, Q, Ω and LPIPS over the images (Kodak and CBSD68
pooled, i.e. averaged per image) and the time per image. ``--quantise`` rounds the
blurred images to 8 bits first (what saving them as PNG does). Times are CPU seconds
per image (``time.process_time``) with one thread: stable on a loaded shared machine.

A diagnostic row ``mlm (circular blur)`` runs mLM on images blurred with a *periodic*
boundary (with the matching black-box operator), to show where mLM's gap comes from.

Usage:
    python benchmarks/eval_mmsp_classical.py [--limit N] [--methods wiener red-fp ...]
        [--limit-slow N] [--quantise] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import defocus.metrics  # noqa: F401  (registers the metrics)
from defocus.classical import blur_operator, create_method, modified_lm
from defocus.data import mmsp_synthetic_dataset
from defocus.degrade.blur import blur
from defocus.metrics.base import create_metric

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "test"
METRICS = ("psnr", "ssim", "q", "omega", "lpips")

# MMSP 2024 Table II (averaged over Kodak24 and BSD500): PSNR, SSIM, Q, LPIPS, time (s)
PAPER = {
    "al": (29.362, 0.882, 0.136, 0.229, 0.009),
    "mlm": (37.282, 0.971, 0.135, 0.059, 0.003),
    "mrl": (29.658, 0.891, 0.134, 0.212, 0.012),
    "red-fp": (33.137, 0.911, 0.154, 0.181, 47.800),
    "red-sd": (32.835, 0.909, 0.151, 0.181, 328.259),
}

# Parameters: the paper's 250 iterations for aL/mRL/mLM; RED's published uniform-blur
# defaults (lam 0.02, sigma sqrt 2, sigma_f 3.25; 200 FP / 1500 SD iterations).
SETTINGS: dict[str, dict[str, object]] = {
    "wiener": {},
    "richardson-lucy": {"iterations": 100},
    "al": {"iterations": 250},
    "mrl": {"iterations": 250},
    "mlm": {"iterations": 250},
    "red-fp": {},
    "red-sd": {},
}
SLOW = ("red-sd",)


def images(limit: int | None) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``(name, blurry, sharp)`` luma pairs, Kodak24 then CBSD68 (``limit`` from each)."""
    pairs = []
    for folder in ("Kodak24", "CBSD68"):
        dataset = mmsp_synthetic_dataset(DATA / folder)
        count = len(dataset) if limit is None else min(limit, len(dataset))
        for index in range(count):
            blurry, sharp = dataset[index]
            pairs.append((f"{folder}/{dataset.store.name(index)}", blurry[None], sharp[None]))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="images per dataset (default: all)")
    parser.add_argument("--limit-slow", type=int, default=2, help="images per dataset for red-sd")
    parser.add_argument("--methods", nargs="*", default=[*SETTINGS, "mlm-circular"])
    parser.add_argument("--quantise", action="store_true", help="round blurred images to 8 bits")
    parser.add_argument("--json", type=Path, help="write per-method means here")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not DATA.exists():
        raise SystemExit(f"{DATA} missing")

    metrics = {name: create_metric(name) for name in METRICS}
    data = images(args.limit)
    if args.quantise:
        data = [(n, (b * 255).round() / 255, s) for n, b, s in data]
    print(f"{len(data)} images, quantise={args.quantise}")
    results: dict[str, dict[str, float]] = {}
    for method_name in ["blurry", *args.methods]:
        subset = data
        if method_name in SLOW:
            per_set = args.limit_slow
            subset = [d for d in data if d[0].startswith("Kodak")][:per_set]
            subset += [d for d in data if d[0].startswith("CBSD")][:per_set]
        sums = dict.fromkeys([*METRICS, "time"], 0.0)
        for _, blurry, sharp in subset:
            start = time.process_time()
            if method_name == "blurry":
                restored = blurry
            elif method_name == "mlm-circular":
                y = blur(sharp, "box:5", "circular")
                restored = modified_lm(y, blur_operator("box:5", y, "circular"), 250)
            else:
                method = create_method(method_name, **SETTINGS[method_name])
                restored = method(blurry, "box:5")
            sums["time"] += time.process_time() - start
            restored = restored.clamp(0, 1)
            with torch.no_grad():
                for name, metric in metrics.items():
                    args_ = (restored,) if metric.inputs == ("restored",) else (restored, sharp)
                    sums[name] += float(metric(*args_).mean())
        means = {k: v / len(subset) for k, v in sums.items()}
        means["images"] = len(subset)
        results[method_name] = means
        paper = PAPER.get(method_name)
        ref = (
            f"   paper {paper[0]:.3f} / {paper[1]:.3f} / {paper[2]:.3f} / {paper[3]:.3f} / "
            f"{paper[4]:.3f}s"
            if paper
            else ""
        )
        print(
            f"{method_name:16s} n={len(subset):3d} PSNR {means['psnr']:7.3f}"
            f" SSIM {means['ssim']:.3f} Q {means['q']:.3f} Ω {means['omega']:6.2f}"
            f" LPIPS {means['lpips']:.3f}"
            f" time {means['time']:7.2f}s{ref}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
