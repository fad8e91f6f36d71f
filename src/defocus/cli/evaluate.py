"""``defocus evaluate``: score methods on a test protocol, with paired t-tests and a plot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from defocus.bench.evaluate import DEFAULT_METRICS, evaluate, restorer
from defocus.bench.protocols import list_protocols, load_cases
from defocus.cli.options import add_precision_argument
from defocus.cli.output import progress_bar
from defocus.errors import DefocusError
from defocus.metrics.base import list_metrics

DEFAULT_ROOT = Path("../shared/data/test")
"""Test photos of a checkout with ``../shared`` beside it (a command-line default only)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="benchmark deblurring methods on a test protocol (tables, t-tests, plot)",
        description=(
            "Degrade the test images with a protocol (mmsp: 5x5 box blur; defocus: disk "
            "r = 1..5 px with noise σ = 0.01; ring, gaussian: other PSFs; depth: bands of "
            "disk r = 0..5 px scored band by band, and a sharp subject over a defocused "
            "background; lens: measured lens PSFs at radii 2..8 px), restore them with each "
            "method, and score the "
            "luma against the sharp images. Methods: blurry (the input), wiener-oracle "
            "(Wiener with the true PSF and the PSNR-best balance per image: an oracle that "
            "peeks at the reference), classical methods given the true PSF (wiener, "
            "richardson-lucy, al, mrl, mlm, red-fp, red-sd), model:NAME_OR_PATH (a trained "
            "network, blind), adapt:NAME_OR_PATH[@REBLUR] (the same with test-time adaptation "
            "on each image). Writes OUT/records.csv (per image), OUT/means.csv (per method and"
            " radius or dataset, and over all images), OUT/summary.md (means, "
            "paired t-tests against the baseline, per-group means), OUT/metrics.png and "
            "OUT/report.html (the same in a browser, with a gallery of the best and worst "
            "cases of each method; images in OUT/report_files/)."
        ),
    )
    parser.add_argument("--protocol", choices=list_protocols(), default="mmsp")
    add_precision_argument(parser)
    parser.add_argument(
        "--methods",
        required=True,
        metavar="LIST",
        help="comma-separated methods, e.g. blurry,wiener-oracle,wiener,model:w.safetensors",
    )
    parser.add_argument("--baseline", default="blurry", help="method tested against (paired)")
    parser.add_argument(
        "--data",
        default=str(DEFAULT_ROOT),
        metavar="ROOT",
        help=f"folder holding Kodak24/ and CBSD68/ (default: {DEFAULT_ROOT})",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="images per dataset")
    parser.add_argument(
        "--metrics",
        default=",".join(DEFAULT_METRICS),
        metavar="LIST",
        help=f"comma-separated metrics (default: {','.join(DEFAULT_METRICS)})",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.set_defaults(func=run)


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def run(args: argparse.Namespace) -> int:
    """Run the ``evaluate`` command."""
    # Plotting and statistics load matplotlib and scipy.stats (1.5 s): only when needed.
    from defocus.bench.plots import metrics_figure, save_figure
    from defocus.bench.report import write_report
    from defocus.bench.tables import mean_table, records_csv, summary_markdown, write_text
    from defocus.metrics.omega import OMEGA_CAVEAT

    methods = _split(args.methods)
    metrics = _split(args.metrics)
    unknown = [name for name in metrics if name not in list_metrics()]
    if unknown or not metrics:
        raise DefocusError(
            f"unknown metric(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(list_metrics())}"
        )
    if not methods:
        raise DefocusError("--methods is empty")
    if args.limit is not None and args.limit < 1:
        raise DefocusError(f"--limit must be positive, got {args.limit}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DefocusError(f"{out}: exists and is not a folder")
    baseline = args.baseline if args.baseline in methods else None
    precision = args.precision or "auto"
    restorers = {name: restorer(name, precision) for name in methods}  # fail early
    cases = load_cases(args.protocol, args.data, limit=args.limit)
    if not cases:
        raise DefocusError(f"{args.data}: no test images found")
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with progress_bar("evaluate", len(cases) * len(methods)) as (progress, task):
        for name, restore in restorers.items():
            progress.update(task, description=name)
            records += evaluate(
                restore, cases, metrics, method=name, progress=lambda _: progress.advance(task)
            )
    write_text(out / "records.csv", records_csv(records))
    write_text(out / "means.csv", records_csv(mean_table(records, [*metrics, "seconds"])))
    title = f"defocus evaluate: protocol {args.protocol}, {len(cases)} cases"
    caveat = f"> {OMEGA_CAVEAT}\n\n" if "omega" in metrics else ""
    summary = f"# {title}\n\n{caveat}" + summary_markdown(records, metrics, baseline)
    write_text(out / "summary.md", summary)
    save_figure(metrics_figure(records, metrics), out / "metrics.png")
    write_report(out, title, cases, records, restorers, metrics, baseline)
    sys.stdout.write(summary)
    sys.stdout.write(f"\nreport: {out / 'report.html'}\n")
    return 0
