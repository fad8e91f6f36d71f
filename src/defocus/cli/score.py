"""``defocus score``: image-quality metrics of restored images, per image and on average."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from defocus.cli.output import (
    check_output_file,
    progress_bar,
    stderr_console,
    stdout_console,
    table,
    write_csv,
    write_json,
)
from defocus.devices import resolve_device
from defocus.errors import DefocusError
from defocus.io import list_images, match_paths, probe_image, quantise, read_image
from defocus.io.staging import check_outputs

# Importing from ``defocus.metrics`` runs its ``__init__``, which registers every metric.
from defocus.metrics.base import METRICS, Metric, create_metric, list_metrics
from defocus.metrics.omega import OMEGA_CAVEAT

ROLES = ("restored", "reference", "blurry")
# Display order of the built-in metrics; metrics registered later follow by name.
PREFERRED_ORDER = ("psnr", "ssim", "lpips", "q", "omega", "omega-n", "j")
DIGITS = {"psnr": 2, "omega": 2}
# Peak memory per value (pixel x channel) of scoring one image set in float64: measured
# peak RSS on a 12-megapixel RGB pair, 210 bytes/value for psnr+ssim+q+omega and 196
# for lpips (metrics run one after the other).
BYTES_PER_VALUE = 256


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``score`` sub-command."""
    parser = subparsers.add_parser(
        "score",
        help="score restored images (Q, Ω, J, PSNR, SSIM, LPIPS), per image and on average",
        description=(
            "Compute image-quality metrics of restored images. RESTORED, --ref and "
            "--blurry are files or folders; folders are matched by file stem "
            "(restored/img1.png <-> reference/img1.jpg). Reference-free metrics (q) "
            "need no --ref. Images are read at full precision (16-bit stays 16-bit); "
            "an alpha channel is ignored (metrics use the colour channels); a grey "
            "image paired with a colour one is repeated to three channels. Metrics run "
            "in float64 on the CPU and float32 on CUDA."
        ),
        epilog=(
            'JSON output: {"images": [{"name": ..., "<metric>": value}], '
            '"mean": {"<metric>": value}}; infinite or undefined values (PSNR of '
            'identical images) are written as the strings "inf" / "nan".'
        ),
    )
    parser.add_argument("restored", metavar="RESTORED", help="restored image file or folder")
    parser.add_argument(
        "--ref", metavar="REFERENCE", help="reference (ground-truth) file or folder"
    )
    parser.add_argument("--blurry", metavar="BLURRY", help="blurry input file or folder (for j)")
    parser.add_argument(
        "--metrics",
        metavar="LIST",
        help=(
            "comma-separated metric names (registered: "
            f"{', '.join(_ordered(list_metrics()))}); default: every metric the given "
            "images allow"
        ),
    )
    parser.add_argument("--json", metavar="PATH", help="write results as JSON ('-' = stdout)")
    parser.add_argument("--csv", metavar="PATH", help="write results as CSV (with a mean row)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto"
    )
    parser.set_defaults(func=run)


def _ordered(names: Sequence[str]) -> list[str]:
    rank = {n: i for i, n in enumerate(PREFERRED_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def metric_inputs(name: str) -> tuple[str, ...]:
    """Images the metric registered as ``name`` needs, without building it."""
    return tuple(METRICS.get(name).inputs)


def select_metrics(requested: str | None, available: Sequence[str]) -> list[str]:
    """Resolve ``--metrics`` against the images given on the command line.

    Args:
        requested: The ``--metrics`` value, or ``None`` for the default.
        available: Image roles given (always ``"restored"``, plus ``"reference"``,
            ``"blurry"`` when their options are set).

    Returns:
        Metric names, in display order.

    Raises:
        DefocusError: Unknown name, or a metric needing an image that was not given.
    """
    if requested is None:
        names = [n for n in list_metrics() if set(metric_inputs(n)) <= set(available)]
        if not names:
            raise DefocusError("no registered metric works with the given images")
        return _ordered(names)
    names = [n.strip() for n in requested.split(",") if n.strip()]
    if not names:
        raise DefocusError("--metrics: give at least one metric name")
    options = {"reference": "--ref", "blurry": "--blurry"}
    for name in names:
        missing = [r for r in metric_inputs(name) if r not in available]
        if missing:
            needed = " and ".join(options[r] for r in missing)
            raise DefocusError(f"--metrics: metric {name!r} needs {needed}")
    return list(dict.fromkeys(names))


def collect_jobs(restored: str, reference: str | None, blurry: str | None) -> list[dict[str, Path]]:
    """Match the restored images with their reference and blurry images by stem.

    Returns:
        One dict per restored image, keyed by role.
    """
    jobs = [{"restored": f} for f in list_images(restored)]
    for role, path in (("reference", reference), ("blurry", blurry)):
        if path is not None:
            for job, (_, partner) in zip(
                jobs, match_paths(restored, path, ("restored", role)), strict=True
            ):
                job[role] = partner
    return jobs


def load_images(
    job: dict[str, Path], device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, torch.Tensor], bool]:
    """Read the images of one job as ``(1, C, H, W)`` tensors of one channel count.

    Alpha is dropped. The file's levels are restored exactly in float64 (``k / 255``
    or ``k / 65535``) before the cast to ``dtype``. When grey and colour images are
    mixed, grey ones are repeated to three channels.

    Returns:
        The images keyed by role, and whether any of them had an alpha channel.

    Raises:
        DefocusError: Unreadable file, or sizes that differ (naming both files).
    """
    images = {role: read_image(path) for role, path in job.items()}
    restored = images["restored"]
    for role, image in images.items():
        if image.size != restored.size:
            raise DefocusError(
                f"{job['restored']}: size {_size(restored.size)} differs from the {role} "
                f"image {job[role]} ({_size(image.size)})"
            )
    channels = max(image.pixels.shape[0] for image in images.values())
    tensors = {
        role: quantise(image.pixels.double(), image.bit_depth)
        .expand(channels, -1, -1)[None]
        .to(device=device, dtype=dtype)
        for role, image in images.items()
    }
    return tensors, any(image.alpha is not None for image in images.values())


def _size(hw: tuple[int, int]) -> str:
    return f"{hw[1]}x{hw[0]}"


def score_job(
    job: dict[str, Path], metrics: dict[str, Metric], device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, float], bool]:
    """Compute every metric for one job; errors name the restored file.

    Returns:
        The metric values and whether an alpha channel was ignored.
    """
    images, had_alpha = load_images(job, device, dtype)
    values: dict[str, float] = {}
    with torch.no_grad():
        for name, metric in metrics.items():
            try:
                value = metric(*(images[role] for role in metric.inputs))
            except ValueError as exc:
                raise DefocusError(f"{job['restored']}: {name}: {exc}") from None
            values[name] = float(value.reshape(-1)[0])
    return values, had_alpha


def check_report_name(path: Path) -> None:
    """Refuse a file name that a UTF-8 report (CSV, JSON) cannot hold faithfully.

    Raises:
        DefocusError: If the name is not valid UTF-8 (undecodable bytes).
    """
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
        raise DefocusError(
            f"{path.parent / shown}: file name is not valid UTF-8 and cannot be written to "
            "a report; rename the file"
        ) from None


def mean_row(rows: Sequence[dict[str, object]], names: Sequence[str]) -> dict[str, float]:
    """Mean of each metric over the rows (``inf`` if one is infinite, NaN if undefined)."""
    return {n: sum(float(r[n]) for r in rows) / len(rows) for n in names}


def run(args: argparse.Namespace) -> int:
    """Score the restored images; return the exit code."""
    check_output_file(args.json)
    check_output_file(args.csv)
    available = [r for r, given in zip(ROLES, (True, args.ref, args.blurry), strict=True) if given]
    names = select_metrics(args.metrics, available)
    try:
        device = resolve_device(args.device)
    except DefocusError as exc:
        raise DefocusError(f"--device {args.device}: {exc}") from None
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    jobs = collect_jobs(args.restored, args.ref, args.blurry)
    reports = [Path(p) for p in (args.csv, args.json) if p is not None and p != "-"]
    check_outputs(reads=[path for job in jobs for path in job.values()], writes=reports)
    if reports:
        for job in jobs:
            check_report_name(job["restored"])
    for job in jobs:
        probe_image(job["restored"]).check_memory(BYTES_PER_VALUE)
    metrics = {n: create_metric(n).to(device=device, dtype=dtype).eval() for n in names}

    notes = stderr_console()
    rows: list[dict[str, object]] = []
    with_alpha = 0
    with progress_bar("score", len(jobs)) as (progress, task):
        for job in jobs:
            progress.update(task, description=job["restored"].name)
            values, had_alpha = score_job(job, metrics, device, dtype)
            rows.append({"name": job["restored"].name, **values})
            with_alpha += had_alpha
            progress.advance(task)
    mean = mean_row(rows, names)
    if with_alpha:
        notes.print(
            f"note: alpha channel ignored in {with_alpha} image set(s); "
            "metrics use the colour channels"
        )

    if args.json is not None:
        write_json(args.json, {"images": rows, "mean": mean})
    if args.csv is not None:
        write_csv(args.csv, ["name", *names], [*rows, {"name": "mean", **mean}])
    arrows = {n: "↓" if METRICS.get(n).lower_is_better else "↑" for n in names}
    columns = [("name", "image"), *((n, f"{n} {arrows[n]}") for n in names)]
    shown = table(None, columns, rows, DIGITS, footer={"name": f"mean ({len(rows)})", **mean})
    console = notes if args.json == "-" else stdout_console()
    console.print(shown)
    if "omega" in names:
        console.print(f"note: {OMEGA_CAVEAT}", soft_wrap=True, markup=False)
    return 0
