"""``defocus blurmap``: per-pixel blur radius and defocus probability of photos."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from defocus.blurmap import ESTIMATORS, estimate_blur_map
from defocus.blurmap.estimate import DEFAULT_ESTIMATOR
from defocus.cli.options import add_precision_argument
from defocus.cli.output import progress_bar, stderr_console
from defocus.errors import DefocusError
from defocus.io import atomic_write_bytes, list_images, probe_image, read_image
from defocus.io.staging import StagedOutputs, check_new_folder, check_outputs

SUFFIXES = (".blur.tif", ".defocus.png", ".preview.png")
BYTES_PER_VALUE = 96
"""Peak memory per pixel x channel of one photo (the maps, tiles in flight, the preview
figure): measured 78 with the gradient-ratio baseline (peak RSS 2.8 GB on a 12-megapixel
RGB JPEG) and less with the network (BENCHMARKS.md)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``blurmap`` sub-command."""
    parser = subparsers.add_parser(
        "blurmap",
        help="estimate the blur radius and defocus probability of every pixel",
        description=(
            "For every input photo write OUT/<stem>.blur.tif (float32 blur radius in "
            "pixels), OUT/<stem>.defocus.png (8-bit probability x 255 that the pixel is "
            "out of focus: white = defocused, the CUHK masks' convention) and "
            "OUT/<stem>.preview.png (the photo beside the colour-mapped radius). All or "
            "nothing: every input is checked first and the results are moved into OUT "
            "only when every photo succeeded; inputs are never overwritten. The "
            f"estimator: {DEFAULT_ESTIMATOR} (the shipped network; see docs/blur-maps.md)."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--method",
        choices=ESTIMATORS.names(),
        default=DEFAULT_ESTIMATOR,
        help=f"estimator (default {DEFAULT_ESTIMATOR})",
    )
    add_precision_argument(parser)
    parser.set_defaults(func=run)


def _jobs(inputs: list[str], out: Path) -> list[tuple[Path, list[Path]]]:
    """Each input with its three outputs; refuse two inputs of the same stem."""
    seen: dict[str, Path] = {}
    jobs = []
    for source in (f for item in inputs for f in list_images(item)):
        if source.stem in seen:
            raise DefocusError(f"{source}: same name as {seen[source.stem]}; outputs would clash")
        seen[source.stem] = source
        jobs.append((source, [out / f"{source.stem}{suffix}" for suffix in SUFFIXES]))
    return jobs


def _png(figure_or_array: object) -> bytes:
    buffer = io.BytesIO()
    if isinstance(figure_or_array, np.ndarray):
        Image.fromarray(figure_or_array).save(buffer, format="PNG")
    else:
        figure_or_array.savefig(buffer, format="PNG")  # type: ignore[attr-defined]
        plt.close(figure_or_array)  # type: ignore[arg-type]
    return buffer.getvalue()


def _preview(photo: np.ndarray, radius: np.ndarray, title: str) -> plt.Figure:
    height, width = radius.shape
    figure, axes = plt.subplots(1, 2, figsize=(10, 5 * height / max(width, 1) + 0.6))
    axes[0].imshow(photo)
    axes[0].set_title(title, fontsize=9)
    shown = axes[1].imshow(radius, cmap="viridis", vmin=0)
    axes[1].set_title("blur radius (px)", fontsize=9)
    figure.colorbar(shown, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.axis("off")
    figure.tight_layout()
    return figure


def run(args: argparse.Namespace) -> int:
    """Estimate the blur maps; return the exit code."""
    out: Path = args.out
    check_new_folder(out)
    jobs = _jobs(args.inputs, out)
    for source, _ in jobs:
        probe_image(source).check_memory(BYTES_PER_VALUE)
    check_outputs(reads=[s for s, _ in jobs], writes=[t for _, targets in jobs for t in targets])
    with StagedOutputs(out) as stage, progress_bar("blurmap", len(jobs)) as (progress, task):
        for source, (radius_path, defocus_path, preview_path) in jobs:
            progress.update(task, description=source.name)
            image = read_image(source)
            estimate = estimate_blur_map(image.pixels[None], args.method, args.precision or "auto")
            radius = estimate.radius[0, 0].float().numpy()
            probability = estimate.probability[0, 0].double().numpy()
            tiff = io.BytesIO()
            Image.fromarray(radius, mode="F").save(tiff, format="TIFF")
            atomic_write_bytes(stage.staged(radius_path), tiff.getvalue())
            defocus = np.round(probability * 255).astype(np.uint8)
            atomic_write_bytes(stage.staged(defocus_path), _png(defocus))
            photo = image.pixels.permute(1, 2, 0).clamp(0, 1).numpy()
            photo = photo[..., 0] if photo.shape[-1] == 1 else photo
            figure = _preview(photo, radius, source.name)
            atomic_write_bytes(stage.staged(preview_path), _png(figure))
            progress.advance(task)
    stderr_console().print(f"wrote blur maps of {len(jobs)} photo(s) into {out}")
    return 0
