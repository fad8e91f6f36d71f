"""``defocus sweep``: sharpen a reference ever more and watch PSNR, Q and Ω react."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from defocus.assets import sample_image_path
from defocus.bench.sharpening import (
    DEFAULT_AMOUNTS,
    LABELS,
    SWEEP_METRICS,
    contact_sheet,
    plot_sweep,
    sharpening_sweep,
)
from defocus.cli.output import progress_bar, stdout_console, table, write_csv
from defocus.errors import DefocusError
from defocus.io import atomic_path, read_image
from defocus.io.staging import StagedOutputs, check_outputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILES = ("sweep.csv", "sweep.png", "contact_sheet.png")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``sweep`` sub-command."""
    parser = subparsers.add_parser(
        "sweep",
        help="sharpen a reference with increasing unsharp-mask amounts; plot PSNR, Q, Ω",
        description=(
            "Sharpen REFERENCE (default: a bundled photo, a crop of Kodak 'kodim23') by "
            "unsharp masking with each amount, score every result against REFERENCE "
            "(PSNR and Ω) and on its own (Q of Zhu-Milanfar and Qin, Ω's inner Q), and "
            "write sweep.csv, sweep.png (the curves against the amount) and "
            "contact_sheet.png (the sharpened images, "
            "central 256x256 pixels at 1:1) to --out. Each sharpened image is rounded "
            "and clipped to the reference's bit depth before scoring, as if saved like "
            "the reference. Expected behaviour (EUSIPCO 2025, Figs. 1-2): Q rises, PSNR "
            "falls, Ω rises then falls once ringing sets in (with 8-bit clipping Q of "
            "Zhu-Milanfar may fall again at large amounts; Qin keeps rising). An alpha "
            "channel is ignored."
        ),
    )
    parser.add_argument(
        "reference", nargs="?", metavar="REFERENCE", help="reference image (default: bundled)"
    )
    parser.add_argument(
        "--amounts",
        default=",".join(f"{a:g}" for a in DEFAULT_AMOUNTS),
        help="comma-separated amounts γ >= 0 (default %(default)s)",
    )
    parser.add_argument(
        "--radius", type=float, default=1.0, help="Gaussian sigma in pixels (default 1.0)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("sweep-out"), help="output folder (default sweep-out)"
    )
    parser.set_defaults(func=run)


# Unsharp-mask amounts beyond this are meaningless (the papers' sweeps stop at 13.8).
MAX_AMOUNT = 1000.0


def parse_amounts(text: str) -> list[float]:
    """Parse ``"0,0.4,0.8"`` into distinct finite non-negative floats.

    Raises:
        DefocusError: Naming ``--amounts`` and the bad item.
    """
    amounts: list[float] = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise DefocusError(f"--amounts: {item.strip()!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise DefocusError(f"--amounts: {item.strip()!r} must be a finite number >= 0")
        if value > MAX_AMOUNT:
            raise DefocusError(f"--amounts: {item.strip()!r} is above the maximum {MAX_AMOUNT:g}")
        amounts.append(value)
    if len(set(amounts)) != len(amounts):
        raise DefocusError("--amounts: an amount is repeated")
    return amounts


def _save_figure(path: Path, fig: Figure) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def run(args: argparse.Namespace) -> int:
    """Run the sweep; return the exit code."""
    amounts = parse_amounts(args.amounts)
    if not (math.isfinite(args.radius) and args.radius > 0):
        raise DefocusError(f"--radius must be a positive number, got {args.radius}")
    path = Path(args.reference) if args.reference else sample_image_path()
    image = read_image(path)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise DefocusError(f"{out}: exists and is not a folder")
    check_outputs(reads=[path], writes=[out / f for f in FILES])

    with progress_bar("sweep", len(amounts)) as (progress, task):

        def step(amount: float) -> None:
            progress.update(task, description=f"γ = {amount:g}")
            progress.advance(task)

        try:
            result = sharpening_sweep(
                image.pixels, amounts, args.radius, image.bit_depth, SWEEP_METRICS, on_step=step
            )
        except ValueError as exc:
            raise DefocusError(f"{path}: {exc}") from None

    rows = result.rows()
    title = f"Unsharp-mask sweep of {path.name} (radius {args.radius:g})"
    with StagedOutputs(out, parents=True) as stage:  # the three files together or none
        write_csv(stage.staged(out / FILES[0]), ["amount", *SWEEP_METRICS], rows)
        _save_figure(stage.staged(out / FILES[1]), plot_sweep(result, title))
        _save_figure(stage.staged(out / FILES[2]), contact_sheet(result))

    columns = [("amount", "γ"), *((n, LABELS[n]) for n in SWEEP_METRICS)]
    digits = {"amount": 2, "psnr": 2, "omega": 2}
    console = stdout_console()
    console.print(table(f"{path.name}, radius {args.radius:g}", columns, rows, digits))
    console.print(f"wrote {', '.join(str(out / f) for f in FILES)}", soft_wrap=True)
    return 0
