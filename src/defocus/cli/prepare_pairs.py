"""``defocus prepare-pairs``: register blurry captures to ground truth, match colour, crop."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from defocus.cli.output import progress_bar, stderr_console, write_csv, write_json
from defocus.data.registration import COLOUR_METHODS, MODELS, prepare_pair
from defocus.errors import DefocusError
from defocus.io import (
    ImageData,
    list_images,
    pair_by_stem,
    read_image,
    write_image,
)
from defocus.io.staging import check_outputs

REPORT_COLUMNS = (
    "name",
    "model",
    "blur_radius_px",
    "ecc_correlation",
    "residual_px",
    "residual_max_px",
    "crop_top",
    "crop_left",
    "crop_height",
    "crop_width",
    "colour_error_before",
    "colour_error_after",
    "delta_e_before",
    "delta_e_after",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``prepare-pairs`` sub-command."""
    parser = subparsers.add_parser(
        "prepare-pairs",
        help="align blurry captures to their ground truth, match colours, crop",
        description=(
            "For each blurry capture (matched to a ground-truth image by file stem): "
            "estimate a global warp robust to the blur (blur-matched ECC, coarse to fine), "
            "resample the capture onto the ground truth, match its colours, and crop both "
            "to the area they share. Writes OUT/gt/, OUT/blurry/ (same formats and bit "
            "depths as the inputs) and OUT/report.csv + OUT/report.json with the residual "
            "misalignment of each pair."
        ),
    )
    parser.add_argument("--gt", required=True, type=Path, help="folder (or file) of ground truth")
    parser.add_argument("--blurry", required=True, type=Path, help="folder (or file) of captures")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--model", choices=tuple(MODELS), default="affine", help="motion model (default affine)"
    )
    parser.add_argument(
        "--colour",
        choices=COLOUR_METHODS,
        default="affine",
        help="colour matching: affine least squares on the registered pixels (default), "
        "idt (Pitié's iterative distribution transfer) or none",
    )
    parser.set_defaults(func=run)


def _hwc(image: ImageData) -> np.ndarray:
    return image.pixels.numpy().transpose(1, 2, 0)


def _write(
    path: Path, pixels: np.ndarray, like: ImageData, crop: tuple[int, int, int, int]
) -> None:
    top, left, height, width = crop
    alpha = None
    if like.alpha is not None and like.alpha.shape[-2:] == like.pixels.shape[-2:]:
        alpha = like.alpha[:, top : top + height, left : left + width]
    write_image(
        path,
        pixels.transpose(2, 0, 1),
        bit_depth=like.bit_depth,
        alpha=alpha,
        icc_profile=like.icc_profile,
        exif=like.exif,
    )


def run(args: argparse.Namespace) -> int:
    """Prepare every pair; return the exit code."""
    gt_files = list_images(args.gt)
    blurry_files = list_images(args.blurry)
    if len(gt_files) == 1 and len(blurry_files) == 1:
        pairs = [(blurry_files[0], gt_files[0])]
    else:
        pairs = pair_by_stem(blurry_files, gt_files, ("blurry", "ground-truth"), complete=False)
    out: Path = args.out
    gt_dir, blurry_dir = out / "gt", out / "blurry"
    check_outputs(
        reads=gt_files + blurry_files,
        writes=[
            *(gt_dir / gt_path.name for _, gt_path in pairs),
            *(blurry_dir / blurry_path.name for blurry_path, _ in pairs),
            out / "report.csv",
            out / "report.json",
        ],
    )
    for folder in (gt_dir, blurry_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DefocusError(f"{folder}: cannot create folder ({exc.strerror or exc})") from None

    rows = []
    with progress_bar("prepare-pairs", len(pairs)) as (progress, task):
        for blurry_path, gt_path in pairs:
            progress.update(task, description=blurry_path.name)
            gt, capture = read_image(gt_path), read_image(blurry_path)
            if gt.pixels.shape[0] != capture.pixels.shape[0]:
                raise DefocusError(
                    f"{blurry_path}: {capture.pixels.shape[0]} channel(s) but its ground truth "
                    f"{gt_path} has {gt.pixels.shape[0]}"
                )
            try:
                prepared = prepare_pair(_hwc(gt), _hwc(capture), args.model, args.colour)
            except DefocusError as exc:
                raise DefocusError(f"{blurry_path}: {exc}") from None
            crop = prepared.alignment.crop
            _write(gt_dir / gt_path.name, prepared.ground_truth, gt, crop)
            _write(blurry_dir / blurry_path.name, prepared.capture, capture, crop)
            alignment = prepared.alignment
            rows.append(
                {
                    "name": blurry_path.stem,
                    "model": alignment.model,
                    "blur_radius_px": alignment.blur_radius,
                    "ecc_correlation": alignment.correlation,
                    "residual_px": alignment.residual_px,
                    "residual_max_px": alignment.residual_max_px,
                    "crop_top": crop[0],
                    "crop_left": crop[1],
                    "crop_height": crop[2],
                    "crop_width": crop[3],
                    "colour_error_before": prepared.colour_error_before,
                    "colour_error_after": prepared.colour_error_after,
                    "delta_e_before": prepared.delta_e_before,
                    "delta_e_after": prepared.delta_e_after,
                    "matrix": alignment.matrix.tolist(),
                    "residual_shifts": alignment.residual_shifts,
                    "gt": str(gt_path),
                    "blurry": str(blurry_path),
                }
            )
            progress.advance(task)

    write_csv(out / "report.csv", REPORT_COLUMNS, rows)
    write_json(out / "report.json", {"model": args.model, "colour": args.colour, "pairs": rows})
    worst = max((r["residual_px"] for r in rows if math.isfinite(r["residual_px"])), default=0.0)
    stderr_console().print(
        f"prepared {len(rows)} pair(s) into {out}; largest median residual {worst:.3f} px"
    )
    return 0
