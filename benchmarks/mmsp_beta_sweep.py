"""The MMSP 2024 / EUSIPCO 2025 claim at CPU size: fine-tuning ARKNet with L1 - β·Q.

Stage 1 trains ARKNet with L1 on the MMSP synthetic protocol (CBSD432 luma crops,
5x5 box blur); then, for each β of the sweep, a fine-tune starts from the best
stage-1 weights (chosen on held-out CBSD432 images, never on the test set) with
``L1 + β·(-Q)`` and the fine-tune stage's steps and learning rate of the config
(β = 0 is the control: the same extra L1 steps). Every model is evaluated on the MMSP
protocol over all of Kodak24 + CBSD68 (Y channel) with PSNR, SSIM, Q, Ω and LPIPS, and
compared with the stage-1 model in paired t-tests, as in the MMSP paper's Table I.

Everything is resumable: a finished stage 1 (``OUT/pretrain/summary.json``), finished
fine-tunes (``OUT/<variant>/beta-<β>/summary.json``) and finished evaluations
(``OUT/eval/<label>.json``) are reused; an interrupted fine-tune is resumed.

Usage:
    python benchmarks/mmsp_beta_sweep.py --config configs/experiments/mmsp_beta_sweep_cpu.toml \
        --out runs/beta_sweep [--jobs 2] [--variant NAME --finetune-steps N --lr LR \
        --q-variant qsharpnet] [--limit N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from defocus.bench.evaluate import evaluate, restorer
from defocus.bench.protocols import load_cases
from defocus.bench.stats import compare
from defocus.bench.tables import format_p, markdown_table, records_csv, write_text
from defocus.train import Config, load_config, train
from defocus.train.config import StageConfig

DEFAULT_ROOT = Path("../shared/data/test")
"""Test photos of a checkout with ``../shared`` beside it (a command-line default only)."""

BETAS = (0.0, 0.001, 0.01, 0.05, 0.1)
METRICS = ("psnr", "ssim", "q", "omega", "lpips")
STAGE1 = "stage 1 (L1)"

# MMSP 2024 Table I (Kodak, ARKNet trained on DIV2K + Flickr2K, 5x5 box blur):
# β -> PSNR, SSIM, Q, LPIPS.
PAPER_TABLE_I = {
    0.0: (35.069, 0.944, 0.153, 0.127),
    0.001: (35.102, 0.945, 0.152, 0.117),
    0.01: (35.101, 0.945, 0.154, 0.117),
    0.05: (34.844, 0.945, 0.166, 0.122),
    0.1: (33.641, 0.940, 0.183, 0.127),
}


def _threads(count: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(count)
    torch.set_num_threads(count)


def stage1(config: Config, out: Path) -> tuple[str, float]:
    """Train (or reuse) stage 1 in ``out``; return its best weights and wall time (s)."""
    summary = out / "summary.json"
    if not summary.exists():
        pretrain = dataclasses.replace(config, stages=[config.stages[0]])
        resume = (out / config.stages[0].name / "checkpoints" / "latest").exists()
        start = time.time()
        train(pretrain, out, resume=resume)
        (out / "wall_seconds.json").write_text(json.dumps({"seconds": time.time() - start}))
    stages = json.loads(summary.read_text())["stages"]
    best = next(s["best"] for s in stages if s["name"] == config.stages[0].name)
    return best, wall_seconds(out)


def wall_seconds(out: Path) -> float:
    """Training wall time of a run folder: measured, or config.json → summary.json mtimes."""
    measured = out / "wall_seconds.json"
    if measured.exists():
        return float(json.loads(measured.read_text())["seconds"])
    return (out / "summary.json").stat().st_mtime - (out / "config.json").stat().st_mtime


def finetune_config(
    config: Config, weights: str, beta: float, steps: int, lr: float, q_variant: str
) -> Config:
    """One fine-tune: a single stage from ``weights`` with L1 + β·(-Q)."""
    template = config.stages[-1]
    loss = [dict(term) for term in template.loss]
    if beta > 0 and q_variant != "zhu-milanfar":
        loss.append({"name": "sharpness", "weight": beta, "variant": q_variant})
        beta = 0.0
    stage = StageConfig(name="finetune", steps=steps, loss=loss, beta=beta, init="model", lr=lr)
    model = dataclasses.replace(config.model, pretrained=weights)
    # Validate once, at the end, so the fine-tune's "best" weights are its final ones
    # (choosing the PSNR-best step would select against the sharpness term).
    run = dataclasses.replace(
        config.train, progress=False, val_every=steps, checkpoint_every=min(100, steps)
    )
    return dataclasses.replace(config, model=model, train=run, stages=[stage])


def run_finetune(config: Config, out: Path, threads: int = 1) -> float:
    """Train one fine-tune into ``out`` with ``threads`` threads (resuming if interrupted)."""
    _threads(threads)
    if (out / "summary.json").exists():
        return wall_seconds(out)
    resume = (out / "finetune" / "checkpoints" / "latest").exists()
    start = time.time()
    train(config, out, resume=resume)
    (out / "wall_seconds.json").write_text(json.dumps({"seconds": time.time() - start}))
    return time.time() - start


def best_weights(out: Path) -> str:
    """Best weights of a finished single-stage run."""
    return json.loads((out / "summary.json").read_text())["stages"][-1]["best"]


def evaluate_model(weights: str, cache: Path, data: str, limit: int | None) -> list[dict]:
    """MMSP-protocol records of one model (cached in ``cache``), one thread."""
    _threads(1)
    if cache.exists():
        return json.loads(cache.read_text())
    cases = load_cases("mmsp", data, limit=limit)
    records = evaluate(restorer(f"model:{weights}"), cases, METRICS, method=cache.stem)
    write_text(cache, json.dumps(records))
    return records


def label(beta: float) -> str:
    return f"beta-{beta:g}"


def table(records: list[dict], rows: list[tuple[str, str, float]]) -> str:
    """Table I-like markdown: one row per model, differences and p-values vs stage 1."""
    means = {
        key: {m: sum(r[m] for r in records if r["method"] == key) / count for m in METRICS}
        for key, _, _ in rows
        if (count := sum(r["method"] == key for r in records))
    }
    base = means[rows[0][0]]
    body = []
    for key, name, seconds in rows:
        mean = means[key]
        cells: list[object] = [name, *(mean[m] for m in ("psnr", "ssim", "q", "lpips", "omega"))]
        if key == rows[0][0]:
            cells += ["–", "–", "–", "–"]
        else:
            q_test = compare(records, key, rows[0][0], "q")
            psnr_test = compare(records, key, rows[0][0], "psnr")
            cells += [
                f"{100 * (mean['q'] / base['q'] - 1):+.1f} %",
                f"{mean['psnr'] - base['psnr']:+.3f}",
                format_p(q_test.p),
                format_p(psnr_test.p),
            ]
        cells.append(f"{seconds / 60:.1f}")
        body.append(cells)
    header = [
        "model",
        "PSNR ↑",
        "SSIM ↑",
        "Q ↑",
        "LPIPS ↓",
        "Ω ↑",
        "ΔQ vs stage 1",
        "ΔPSNR dB",
        "p(Q)",
        "p(PSNR)",
        "train min",
    ]
    return markdown_table(header, body)


def paper_table() -> str:
    rows = [[f"β = {b:g}", *values] for b, values in PAPER_TABLE_I.items()]
    return markdown_table(["MMSP 2024 Table I", "PSNR", "SSIM", "Q", "LPIPS"], rows)


def claim(
    records: list[dict], rows: list[tuple[str, str, float]], base: str, base_name: str
) -> list[str]:
    """Which rows meet the claim against ``base``: ΔQ ≥ 5 %, ΔPSNR ≥ -0.5 dB, p(Q) < 0.05."""
    lines = []
    for key, name, _ in rows:
        if key == base:
            continue
        q = compare(records, key, base, "q")
        psnr = compare(records, key, base, "psnr")
        base_q = sum(r["q"] for r in records if r["method"] == base) / q.n
        gain = 100 * q.mean_difference / base_q
        ok = gain >= 5 and psnr.mean_difference >= -0.5 and q.p < 0.05 and not math.isnan(q.p)
        lines.append(
            f"- {name}: ΔQ {gain:+.1f} % (95 % CI {100 * q.ci_low / base_q:+.1f} .. "
            f"{100 * q.ci_high / base_q:+.1f} %), ΔPSNR {psnr.mean_difference:+.3f} dB, "
            f"p(Q) {format_p(q.p)}, p(PSNR) {format_p(psnr.p)} → "
            f"{'MEETS' if ok else 'does not meet'} the claim against {base_name}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/experiments/mmsp_beta_sweep_cpu.toml")
    parser.add_argument("--out", type=Path, default=Path("runs/beta_sweep"))
    parser.add_argument("--betas", type=float, nargs="*", default=list(BETAS))
    parser.add_argument("--jobs", type=int, default=1, help="fine-tunes/evaluations at once")
    parser.add_argument("--variant", default="finetune", help="sub-folder of this fine-tune set")
    parser.add_argument("--finetune-steps", type=int, help="default: the config's last stage")
    parser.add_argument("--lr", type=float, help="fine-tune peak lr (default: the config's)")
    parser.add_argument("--control", default="finetune", help="variant holding the β = 0 run")
    parser.add_argument("--q-variant", default="zhu-milanfar", help="or qsharpnet")
    parser.add_argument("--data", default=str(DEFAULT_ROOT), help="test data root")
    parser.add_argument("--limit", type=int, help="test images per dataset (default: all)")
    parser.add_argument("--markdown", type=Path, help="also write the results here")
    args = parser.parse_args()

    config = load_config(args.config)
    template = config.stages[-1]
    steps = args.finetune_steps or template.steps
    lr = args.lr or template.lr or config.optim.lr
    weights, stage1_seconds = stage1(config, args.out / "pretrain")
    print(f"stage 1: {weights} ({stage1_seconds / 60:.1f} min)", flush=True)

    folders = {beta: args.out / args.variant / label(beta) for beta in args.betas}
    context = get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        futures = {
            beta: pool.submit(
                run_finetune,
                finetune_config(config, weights, beta, steps, lr, args.q_variant),
                folder,
            )
            for beta, folder in folders.items()
        }
        seconds = {beta: future.result() for beta, future in futures.items()}
        for beta in args.betas:
            print(f"β = {beta:g}: fine-tuned in {seconds[beta] / 60:.1f} min", flush=True)

        evals = args.out / "eval"
        evals.mkdir(parents=True, exist_ok=True)
        models = {"stage1": weights}
        models.update({f"{args.variant}-{label(b)}": best_weights(f) for b, f in folders.items()})
        jobs = {
            key: pool.submit(evaluate_model, path, evals / f"{key}.json", args.data, args.limit)
            for key, path in models.items()
        }
        records = [record for job in jobs.values() for record in job.result()]

    rows = [("stage1", STAGE1, stage1_seconds)]
    control = f"{args.control}-{label(0.0)}"
    if control not in models:
        records += evaluate_model(
            best_weights(args.out / args.control / label(0.0)),
            args.out / "eval" / f"{control}.json",
            args.data,
            args.limit,
        )
        rows.append(
            (control, "β = 0 (control)", wall_seconds(args.out / args.control / label(0.0)))
        )
    rows += [(f"{args.variant}-{label(b)}", f"β = {b:g}", seconds[b]) for b in args.betas]
    text = (
        f"### {args.variant}: {steps} fine-tune steps, lr {lr:g}, Q variant {args.q_variant}\n\n"
        f"{sum(r['method'] == 'stage1' for r in records)} test images (MMSP protocol, Y), "
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, one thread per job.\n\n"
        + table(records, rows)
        + "\nClaim (β > 0: mean Q ≥ +5 %, PSNR drop ≤ 0.5 dB, paired p(Q) < 0.05), against "
        "the stage-1 model (the claim as stated) and against the β = 0 control (the same "
        "extra L1 steps):\n\n"
        + "\n".join(claim(records, rows[1:], rows[0][0], "stage 1"))
        + "\n"
        + "\n".join(claim(records, rows[1:], control, "β = 0"))
        + "\n\n"
        + paper_table()
    )
    write_text(args.out / f"{args.variant}.md", text)
    write_text(args.out / f"{args.variant}.csv", records_csv(records))
    if args.markdown:
        write_text(args.markdown, text)
    print(text)


if __name__ == "__main__":
    main()
