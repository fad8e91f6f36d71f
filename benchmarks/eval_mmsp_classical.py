"""Classical methods on the MMSP 2024 synthetic protocol, next to the paper's Table II.

Protocol ``mmsp`` of ``defocus.bench.protocols`` (scored by ``defocus.bench.evaluate``):
luma Y of Kodak24 and CBSD68
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
import dataclasses
import json
from pathlib import Path

import torch

from defocus.bench.evaluate import ReferenceRestorer, Restorer, evaluate, restorer
from defocus.bench.protocols import Case, load_cases
from defocus.classical import blur_operator, create_method, modified_lm
from defocus.degrade.blur import blur

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


def _mlm_circular(blurry: torch.Tensor, psf: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
    """mLM on the sharp image blurred with a periodic boundary (diagnostic row)."""
    y = blur(sharp, psf, "circular")
    return modified_lm(y, blur_operator(psf, y, "circular"), 250)


mlm_circular = ReferenceRestorer(_mlm_circular)


def method_restorer(name: str) -> Restorer:
    """The restorer of a row: the settings above for classical methods."""
    if name == "mlm-circular":
        return mlm_circular
    if name in SETTINGS:
        return create_method(name, **SETTINGS[name])
    return restorer(name)


def subset(cases: list[Case], per_set: int) -> list[Case]:
    """The first ``per_set`` cases of each dataset."""
    return [c for c in cases if c.group == "Kodak24"][:per_set] + [
        c for c in cases if c.group == "CBSD68"
    ][:per_set]


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

    cases = load_cases("mmsp", DATA, limit=args.limit)
    if args.quantise:
        cases = [dataclasses.replace(c, blurry=(c.blurry * 255).round() / 255) for c in cases]
    print(f"{len(cases)} images, quantise={args.quantise}")
    results: dict[str, dict[str, float]] = {}
    for method_name in ["blurry", *args.methods]:
        chosen = subset(cases, args.limit_slow) if method_name in SLOW else cases
        records = evaluate(method_restorer(method_name), chosen, METRICS, method=method_name)
        means = {k: sum(r[k] for r in records) / len(records) for k in [*METRICS, "seconds"]}
        means["time"] = means.pop("seconds")
        means["images"] = len(records)
        results[method_name] = means
        paper = PAPER.get(method_name)
        ref = (
            f"   paper {paper[0]:.3f} / {paper[1]:.3f} / {paper[2]:.3f} / {paper[3]:.3f} / "
            f"{paper[4]:.3f}s"
            if paper
            else ""
        )
        print(
            f"{method_name:16s} n={len(records):3d} PSNR {means['psnr']:7.3f}"
            f" SSIM {means['ssim']:.3f} Q {means['q']:.3f} Ω {means['omega']:6.2f}"
            f" LPIPS {means['lpips']:.3f}"
            f" time {means['time']:7.2f}s{ref}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
