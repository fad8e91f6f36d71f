"""The reblurring loss against L1 alone, same steps: paired tests on three protocols.

Usage: python benchmarks/eval_reblur.py --reblur RUN_A --control RUN_B [--limit 12]
       [--protocols defocus,depth,lens] [--csv docs/reblurring-table.csv]
       [--markdown runs/reblur/table.md] [--module M_R]

``RUN_A`` and ``RUN_B`` are the final (same-step) weights of
``configs/reblur_default.toml`` (L1 + L_reblur) and ``configs/reblur_default_l1.toml``
(L1 only). Each protocol's cases (``--limit`` images per dataset) are restored by both
and scored with PSNR, SSIM, LPIPS and Q on luma; each metric gets a paired t-test of
reblur minus control (:func:`defocus.bench.stats.paired_ttest`). The table has one row
per protocol and metric: the two means, the mean difference with its 95 % interval,
the p-value, and whether the difference goes the way the seed reports (LPIPS and Q
better, PSNR about unchanged).

With ``--module`` (a reblurring module's weights), each protocol first prints how
strongly ``M_R`` reblurs: per deblurrer and PSF, the mean absolute changes
``|M_R(L) - L|`` of a restoration ``L`` and ``|M_R(S) - S|`` of the sharp image (ideally
0), and ``|L - B|`` and ``|M_R(L) - B|`` against the blurry input ``B``. The reblurring
loss ``||M_R(L) - M_R(S)||`` can only differ from ``||L - S||`` where ``M_R`` changes
its input; a module that has learned the blur left in ``L`` brings ``M_R(L)`` towards
``B``.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from defocus.bench.evaluate import evaluate, restorer
from defocus.bench.protocols import Case, load_cases
from defocus.bench.stats import compare
from defocus.bench.tables import format_p, markdown_table
from defocus.metrics.base import create_metric
from defocus.models import ReblurModule, load_reblur_module

METRICS = ("psnr", "ssim", "lpips", "q")
STRENGTH = ("|M_R(L)-L|", "|M_R(S)-S|", "|L-B|", "|M_R(L)-B|")


def print_strength(
    module: ReblurModule,
    name: str,
    restore: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    cases: Sequence[Case],
) -> None:
    """Print the mean :data:`STRENGTH` changes per PSF of ``cases`` restored by ``restore``."""
    sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(len(STRENGTH)))
    counts: dict[str, int] = defaultdict(int)
    with torch.no_grad():
        for case in cases:
            restored = restore(case.blurry, case.psf).clamp(0, 1)
            reblurred = module(restored)
            sums[case.psf_spec] += torch.stack(
                [
                    (reblurred - restored).abs().mean(),
                    (module(case.sharp) - case.sharp).abs().mean(),
                    (restored - case.blurry).abs().mean(),
                    (reblurred - case.blurry).abs().mean(),
                ]
            )
            counts[case.psf_spec] += 1
    print(f"{name:8s} {'psf':12s} {'cases':>5s} " + " ".join(f"{c:>11s}" for c in STRENGTH))
    for psf, total in sums.items():
        means = (total / counts[psf]).tolist()
        print(f"{name:8s} {psf:12s} {counts[psf]:5d} " + " ".join(f"{v:11.4f}" for v in means))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reblur", required=True, help="weights trained with L1 + L_reblur")
    parser.add_argument("--control", required=True, help="weights trained with L1 only")
    parser.add_argument("--data", default="../shared/data/test")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--protocols", default="defocus,depth,lens")
    parser.add_argument("--csv", default="")
    parser.add_argument("--markdown", default="")
    parser.add_argument("--module", default="", help="also print this M_R's strength")
    args = parser.parse_args()
    methods = {"control": args.control, "reblur": args.reblur}
    module = load_reblur_module(args.module) if args.module else None
    rows = []
    for protocol in args.protocols.split(","):
        cases = load_cases(protocol, args.data, limit=args.limit)
        records = []
        for name, weights in methods.items():
            restore = restorer(f"model:{weights}")
            if module is not None:
                print_strength(module, name, restore, cases)
            records += evaluate(restore, cases, METRICS, method=name)
        for metric in METRICS:
            test = compare(records, "reblur", "control", metric)
            means = {
                name: sum(r[metric] for r in records if r["method"] == name) / test.n
                for name in methods
            }
            better = (
                -test.mean_difference
                if create_metric(metric).lower_is_better
                else test.mean_difference
            )
            rows.append(
                {
                    "protocol": protocol,
                    "metric": metric,
                    "cases": test.n,
                    "control": means["control"],
                    "reblur": means["reblur"],
                    "difference": test.mean_difference,
                    "ci_low": test.ci_low,
                    "ci_high": test.ci_high,
                    "p": test.p,
                    "better": better > 0,
                }
            )
            print(
                f"{protocol:8s} {metric:6s} control {means['control']:.4f} reblur "
                f"{means['reblur']:.4f} diff {test.mean_difference:+.4f} "
                f"[{test.ci_low:+.4f}, {test.ci_high:+.4f}] p={format_p(test.p)}",
                flush=True,
            )
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    if args.markdown:
        header = [
            "protocol",
            "metric",
            "cases",
            "L1 only",
            "L1 + L_reblur",
            "difference [95 % CI]",
            "p",
        ]
        body = [
            [
                r["protocol"],
                r["metric"],
                r["cases"],
                r["control"],
                r["reblur"],
                f"{r['difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]",
                format_p(r["p"]),
            ]
            for r in rows
        ]
        Path(args.markdown).write_text(markdown_table(header, body))


if __name__ == "__main__":
    main()
