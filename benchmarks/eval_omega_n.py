"""Ω-n against Ω: the sharpening sweep on every Kodak24 photo, and agreement with LPIPS.

Usage: python benchmarks/eval_omega_n.py [--data ../shared/data/test] [--limit 4]
       [--methods blurry,wiener,...] [--markdown runs/omega_n/report.md]

1. Sweep: each Kodak24 photo sharpened by unsharp masking (radius 1, 8-bit) with
   γ = 0, 0.4, 0.8, 1.3, 2.0, 2.5, 3.5, 5, 9, 13.8 and scored against itself. Counted:
   photos whose score rises with mild sharpening (γ = 0.4 or 0.8 above γ = 0) and is
   below the reference's own score for every γ >= 2.5, for Ω-n and for Ω.
2. Ranking: the defocus protocol (``--limit`` photos per dataset, disk r = 1..5,
   σ = 0.01) restored by ``--methods`` and scored with Ω, Ω-n and LPIPS. Kendall's τ
   between each metric and LPIPS (negated: lower is better) over the methods' mean
   scores, and the mean over cases of the per-case τ across methods.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from defocus.bench.evaluate import evaluate, restorer
from defocus.bench.protocols import load_cases
from defocus.bench.sharpening import sharpening_sweep
from defocus.io import list_images, read_image

AMOUNTS = (0.0, 0.4, 0.8, 1.3, 2.0, 2.5, 3.5, 5.0, 9.0, 13.8)
METHODS = (
    "blurry,wiener,wiener-blind,wiener-oracle,richardson-lucy,gwis-blind,"
    "model:wiener-unet-defocus-v1,model:wiener-unet-defocus-v2"
)


def rises_then_falls(values: list[float]) -> bool:
    """Above γ = 0 at γ = 0.4 or 0.8, and below it for every γ >= 2.5."""
    start = AMOUNTS.index(2.5)
    return max(values[1], values[2]) > values[0] and all(v < values[0] for v in values[start:])


def sweep(root: Path) -> list[str]:
    """Lines of the sweep table (one per photo) and the counts."""
    lines = [
        "| photo | Ω-n at γ = 0 | Ω-n peak γ | Ω-n ok | Ω peak γ | Ω ok |",
        "|---|--:|--:|:-:|--:|:-:|",
    ]
    ok = {"omega-n": 0, "omega": 0}
    photos = list_images(root / "Kodak24")
    for path in photos:
        result = sharpening_sweep(read_image(path).pixels, AMOUNTS, metrics=("omega-n", "omega"))
        cells = [path.name, f"{result.values['omega-n'][0]:.3f}"]
        for name in ("omega-n", "omega"):
            values = result.values[name]
            good = rises_then_falls(values)
            ok[name] += good
            cells += [f"{AMOUNTS[int(np.argmax(values))]:g}", "yes" if good else "no"]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines.append(
        f"\nRises with mild sharpening and falls below the reference from γ = 2.5: Ω-n on "
        f"{ok['omega-n']}/{len(photos)} photos, Ω on {ok['omega']}/{len(photos)}."
    )
    return lines


def ranking(root: Path, limit: int, methods: list[str]) -> list[str]:
    """Kendall τ of Ω and Ω-n against LPIPS on the defocus protocol."""
    cases = load_cases("defocus", root, limit=limit)
    metrics = ("omega", "omega-n", "lpips")
    scores = {}
    for method in methods:
        records = evaluate(restorer(method), cases, metrics, method=method)
        scores[method] = {m: np.array([r[m] for r in records]) for m in metrics}
        print(method, {m: round(float(v.mean()), 4) for m, v in scores[method].items()}, flush=True)
    lines = [
        f"Defocus protocol, {len(cases)} cases, {len(methods)} methods: "
        + ", ".join(f"`{m}`" for m in methods),
        "",
        "| metric | τ vs LPIPS over method means | mean per-case τ |",
        "|---|--:|--:|",
    ]
    lpips = np.array([[-scores[m]["lpips"][i] for m in methods] for i in range(len(cases))])
    for name, label in (("omega", "Ω"), ("omega-n", "Ω-n")):
        values = np.array([[scores[m][name][i] for m in methods] for i in range(len(cases))])
        overall = kendalltau(values.mean(0), lpips.mean(0)).statistic
        per_case = np.nanmean(
            [kendalltau(v, t).statistic for v, t in zip(values, lpips, strict=True)]
        )
        lines.append(f"| {label} | {overall:+.3f} | {per_case:+.3f} |")
    means = ["", "| method | Ω | Ω-n | LPIPS |", "|---|--:|--:|--:|"]
    means += [
        f"| `{m}` | {s['omega'].mean():.3f} | {s['omega-n'].mean():.4f} | {s['lpips'].mean():.4f} |"
        for m, s in scores.items()
    ]
    return lines + means


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/test")
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--markdown", default="")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    root = Path(args.data)
    lines = [] if args.skip_sweep else sweep(root)
    lines += ["", *ranking(root, args.limit, args.methods.split(","))]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
