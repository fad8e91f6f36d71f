"""The default model's acceptance figures on the defocus protocol (issue 5).

Protocol ``defocus`` of :mod:`defocus.bench.protocols`: luma of Kodak24 and CBSD68
(``../shared/data/test``), anti-aliased disk PSF r = 1..5 px (reflect-101), Gaussian
noise σ = 0.01 seeded per image and radius. Methods: the blurry input, Wiener given
the true PSF with the PSNR-best balance per image (an oracle that peeks at the
reference), Wiener given the true PSF with the GCV balance, blind Wiener (disk radius
and balance by GCV: the model's own first step) and the model (blind, whole images).
The ground truth's own Q is computed on every case for the Q target.

Writes ``OUT/records.csv`` (one row per method and case), ``OUT/table.md`` (PSNR per
radius and mean, SSIM, Q and Q / Q(ground truth)) and ``OUT/scores.json``, and prints the
acceptance checks: model − blurry ≥ 1 dB, model > oracle Wiener (mean PSNR), |Q / Q_GT − 1|
≤ 10 %. With ``--export PATH`` the weights are also written as a shipped weights file
carrying these scores (see :func:`defocus.models.export_weights`).

Usage:
    OMP_NUM_THREADS=2 python benchmarks/eval_default_model.py --weights default \
        --out runs/eval_default [--limit N]
    python benchmarks/eval_default_model.py --weights CHECKPOINT.safetensors \
        --out runs/eval_ckpt --export src/defocus/weights/NAME.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from defocus.bench.evaluate import evaluate, restorer
from defocus.bench.protocols import load_cases
from defocus.bench.stats import compare
from defocus.bench.tables import format_p, markdown_table, records_csv, write_text
from defocus.infer.loading import inspect_weights
from defocus.metrics import create_metric
from defocus.models import export_weights, resolve_weights

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "test"
METRICS = ("psnr", "ssim", "q")
LABELS = {
    "blurry": "blurry input",
    "wiener-oracle": "Wiener, true PSF, oracle balance per image",
    "wiener": "Wiener, true PSF, GCV balance",
    "wiener-blind": "Wiener, blind (GCV disk radius and balance)",
    "model": "default model (blind)",
}
REFERENCE = "ground truth"
PAIRED = ("blurry", "wiener-oracle", "wiener-blind")


def mean(values: list[float]) -> float:
    """Arithmetic mean of a non-empty list."""
    return sum(values) / len(values)


def run_methods(weights: str, limit: int | None, data: Path) -> list[dict[str, object]]:
    """Records of every method (and the reference's Q) on the protocol's cases."""
    cases = load_cases("defocus", data, limit=limit)
    print(f"{len(cases)} cases")
    records: list[dict[str, object]] = []
    specs = {method: method for method in LABELS if method != "model"}
    specs["model"] = f"model:{weights}"
    for method, spec in specs.items():
        start = time.perf_counter()
        records += evaluate(restorer(spec), cases, METRICS, method=method)
        print(f"{method}: {time.perf_counter() - start:.0f} s wall")
    q = create_metric("q")
    with torch.no_grad():
        for case in cases:
            records.append(
                {
                    "method": REFERENCE,
                    "name": case.name,
                    "group": case.group,
                    "psf": case.psf_spec,
                    "radius": case.radius,
                    "q": float(q(case.sharp).mean()),
                }
            )
    return records


def summarise(records: list[dict[str, object]]) -> tuple[str, dict[str, object]]:
    """The per-radius table (markdown) and the scores of the acceptance checks."""
    radii = sorted({int(r["radius"]) for r in records})

    def values(method: str, metric: str, radius: int | None = None) -> list[float]:
        return [
            float(r[metric])
            for r in records
            if r["method"] == method and (radius is None or int(r["radius"]) == radius)
        ]

    q_truth = {radius: mean(values(REFERENCE, "q", radius)) for radius in radii}
    q_truth_all = mean(values(REFERENCE, "q"))
    header = ["method", *(f"PSNR r={r}" for r in radii), "PSNR mean", "SSIM", "Q", "Q / Q_GT"]
    rows = []
    for method, label in LABELS.items():
        psnr = [mean(values(method, "psnr", radius)) for radius in radii]
        q_all = mean(values(method, "q"))
        rows.append(
            [
                label,
                *psnr,
                mean(values(method, "psnr")),
                mean(values(method, "ssim")),
                q_all,
                q_all / q_truth_all,
            ]
        )
    rows.append([REFERENCE, *("–" for _ in radii), "–", "–", q_truth_all, 1.0])
    q_rows = [
        [label, *(mean(values(method, "q", r)) / q_truth[r] for r in radii)]
        for method, label in LABELS.items()
    ]
    tests = [compare(records, "model", baseline, "psnr") for baseline in PAIRED]
    test_rows = [
        [LABELS[b], t.n, t.mean_difference, f"{t.ci_low:+.3f} … {t.ci_high:+.3f}", format_p(t.p)]
        for b, t in zip(PAIRED, tests, strict=True)
    ]
    text = (
        markdown_table(header, rows)
        + "\n\nQ / Q(ground truth) per radius:\n\n"
        + markdown_table(["method", *(f"r={r}" for r in radii)], q_rows)
        + "\n\nPaired t-tests of the model's PSNR against each baseline (per case):\n\n"
        + markdown_table(["baseline", "cases", "mean gain (dB)", "95 % CI", "p"], test_rows)
        + "\n"
    )
    model_psnr = mean(values("model", "psnr"))
    scores: dict[str, object] = {
        "protocol": "defocus: Kodak24+CBSD68 luma, disk r 1-5, noise 0.01",
        "cases": len(values("model", "psnr")),
        "psnr": round(model_psnr, 3),
        "psnr_blurry": round(mean(values("blurry", "psnr")), 3),
        "psnr_wiener_oracle": round(mean(values("wiener-oracle", "psnr")), 3),
        "ssim": round(mean(values("model", "ssim")), 4),
        "q_over_ground_truth": round(mean(values("model", "q")) / q_truth_all, 3),
    }
    return text, scores


def main() -> None:
    """Evaluate, write the table and scores, check acceptance, optionally export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="default", help="shipped name or .safetensors")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--limit", type=int, default=None, help="images per dataset")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of Kodak24/, CBSD68/")
    parser.add_argument("--export", type=Path, default=None, help="write shipped weights here")
    args = parser.parse_args()
    records = run_methods(args.weights, args.limit, args.data)
    text, scores = summarise(records)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "records.csv", records_csv(records))
    write_text(args.out / "table.md", text)
    write_text(args.out / "scores.json", json.dumps(scores, indent=2) + "\n")
    print(text)
    gain = float(scores["psnr"]) - float(scores["psnr_blurry"])
    over_oracle = float(scores["psnr"]) - float(scores["psnr_wiener_oracle"])
    ratio = float(scores["q_over_ground_truth"])
    print(f"model - blurry: {gain:+.3f} dB (needs >= +1): {'PASS' if gain >= 1 else 'FAIL'}")
    print(f"model - oracle Wiener: {over_oracle:+.3f} dB: {'PASS' if over_oracle > 0 else 'FAIL'}")
    print(f"Q / Q_GT = {ratio:.3f} (needs 0.9-1.1): {'PASS' if abs(ratio - 1) <= 0.1 else 'FAIL'}")
    if args.export is not None:
        info = inspect_weights(resolve_weights(args.weights))
        path = export_weights(
            info.path, args.export, info.architecture, info.in_channels, scores=scores
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
