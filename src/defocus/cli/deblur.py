"""``defocus deblur``: remove blur from image files with a known PSF (classical methods).

The file handling (inputs, output naming, safety checks, metadata, progress) lives in
:func:`deblur_files`, which takes any :class:`Restoration` (a ``restore(tensor) ->
tensor`` callable plus what it reads and needs), so other restoration back-ends
(learned models) plug into the same command as one more branch of
:func:`build_restorer`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from defocus.classical import create_method, list_methods
from defocus.classical.wiener import BALANCE_RULES
from defocus.cli.deblur_model import (
    add_model_arguments,
    comparison_path,
    model_label,
    model_restorer,
    uses_model,
    write_comparison,
)
from defocus.cli.options import count, number
from defocus.cli.output import progress_bar
from defocus.degrade.kernels import parse_psf, psf_file
from defocus.errors import DefocusError
from defocus.infer import resolve_device
from defocus.io import (
    IMAGE_SUFFIXES,
    ImageInfo,
    list_images,
    probe_image,
    read_image,
    write_image,
)
from defocus.io.staging import StagedOutputs, check_new_folder, check_outputs
from defocus.limits import MAX_ITERATIONS, available_memory, check_psf_fits
from defocus.operators.domain import DOMAINS
from defocus.runtime.tiling import tiled_apply

Steps = Callable[[int], None]
"""Told the number of steps done of a restoration that iterates (``--adapt``)."""
Restorer = Callable[[torch.Tensor, Steps], torch.Tensor]

# Methods whose --boundary names a working domain (defocus.operators.domain); for the
# black-box methods it is the boundary model of their blur.
DOMAIN_METHODS = ("wiener", "richardson-lucy", "red-fp", "red-sd")
DEFAULT_METHOD = "wiener"
# Estimated peak memory per pixel and channel (alpha counted as a channel) when one
# image is processed whole. Measured peak RSS on a 12-megapixel RGB photo: Wiener
# 118 bytes/value (FFTs of the mirrored 2H x 2W domain, GCV), Richardson-Lucy 25;
# methods not measured get Wiener's figure. Networks run tiled after a global
# preparation stage (24 MP default model: 35). See BENCHMARKS.md.
METHOD_BYTES_PER_VALUE = {"wiener": 128, "wiener-blind": 128, "richardson-lucy": 32}
CLASSICAL_BYTES_PER_VALUE = 128
# GWIS after the restoration: the blur map (78 bytes per value measured on 12 MP, see
# BENCHMARKS.md) plus the warp's fields, on the whole image.
POST_BYTES_PER_VALUE = 128
MODEL_BYTES_PER_VALUE = 48
# Classical methods on images too large for memory run tile by tile: tiles of at most
# CLASSICAL_TILE pixels, each reading a context margin of CONTEXT_PSF_SIDES PSF sides
# (at least MIN_CONTEXT pixels) beyond it, blended over TILE_OVERLAP pixels. The image
# itself, the output and the blending weights stay whole (TILED_BYTES_PER_VALUE).
CLASSICAL_TILE = 2048
CONTEXT_PSF_SIDES = 8
MIN_CONTEXT = 64
TILE_OVERLAP = 64
TILED_BYTES_PER_VALUE = 24


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``deblur`` sub-command."""
    parser = subparsers.add_parser(
        "deblur",
        help="deblur images with a network (blind) or a known PSF (Wiener, RL, aL, mRL, mLM, RED)",
        description=(
            "Deblur image files or folders of images with a known point-spread function. "
            "Outputs keep the format, bit depth (8/16), alpha channel, ICC profile and "
            "EXIF of their input. Colour images are restored channel by channel (RGB), "
            "except by RED which restores the luma and keeps the chroma. OUT is a file "
            "name when there is one input image and OUT has an image extension; "
            "otherwise a folder (created if its parent exists) receiving files of the "
            "same names. Inputs are never overwritten. Without --psf a trained network "
            "deblurs blind (--model, default: the default model). All or nothing: every "
            "input is checked first (readable header, size at least the PSF's, memory), "
            "the results are written to a hidden folder beside OUT and moved into place "
            "only when every image succeeded; on any error nothing is written."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="file or folder")
    parser.add_argument(
        "--method",
        choices=list_methods(),
        help=(
            f"classical method (default: {DEFAULT_METHOD}); all need --psf except "
            "wiener-blind, which estimates a disk blur by GCV"
        ),
    )
    parser.add_argument(
        "--psf",
        metavar="SPEC",
        help="disk:R, gaussian:SIGMA, ring:R, box:N, or a .npy / image file (classical methods)",
    )
    parser.add_argument(
        "--balance",
        metavar="LAMBDA",
        help="Wiener balance: a number > 0, or auto (default; = gcv), gcv or nsr (noise estimate)",
    )
    parser.add_argument(
        "--iterations",
        type=count(1, MAX_ITERATIONS),
        metavar="N",
        help=f"iterations (default: the method's; at most {MAX_ITERATIONS})",
    )
    parser.add_argument(
        "--boundary",
        "--padding",
        dest="padding",
        choices=DOMAINS,
        help=(
            "boundary model the method assumes. wiener/richardson-lucy/red: their working "
            "domain, default mirror (reflect-101 solved exactly on the mirrored image; "
            "symmetric: the half-sample boundary likewise), reflect-101 (= reflect), "
            "replicate, zeros (PSF-sized margins) or circular; al/mrl/mlm: the boundary "
            "of their blur, default reflect-101 (no mirror). wiener-blind always uses "
            "symmetric"
        ),
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto"
    )
    parser.add_argument(
        "--post",
        choices=("gwis",),
        help=(
            "post-processing after the method or network: gwis = grid-warping sharpening "
            "with the per-pixel blur level of the result's blur map (the GWIS seed's Fig. 10)"
        ),
    )
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def method_options(args: argparse.Namespace) -> dict[str, object]:
    """Keyword arguments of :func:`defocus.classical.create_method` from the options.

    Raises:
        DefocusError: For options the chosen method does not take.
    """
    options: dict[str, object] = {}
    if args.balance is not None:
        if args.method != "wiener":
            raise DefocusError(f"--balance applies to wiener only, not {args.method}")
        if args.balance in BALANCE_RULES:
            options["balance"] = args.balance
        else:
            try:
                options["balance"] = number(0.0, above=True)(args.balance)
            except argparse.ArgumentTypeError:
                raise DefocusError(
                    f"--balance must be a finite number > 0, auto, gcv or nsr, got {args.balance!r}"
                ) from None
    if args.iterations is not None:
        if args.method == "wiener":
            raise DefocusError("--iterations does not apply to wiener")
        options["iterations"] = args.iterations
    if args.padding is not None:
        if args.padding == "mirror" and args.method not in DOMAIN_METHODS:
            raise DefocusError(f"--boundary mirror is not available for {args.method}")
        options["padding"] = args.padding
    return options


@dataclass
class Plan:
    """What ``defocus deblur`` will do: the ``(input, output)`` files and their headers."""

    pairs: list[tuple[Path, Path]]
    infos: list[ImageInfo]

    @property
    def folder(self) -> Path:
        """The folder every output is written to."""
        return self.pairs[0][1].parent


@dataclass
class Restoration:
    """A restorer and what the file handling must know about it.

    Attributes:
        restore: ``restore(x, steps)`` maps a ``(1, C, H, W)`` float32 CPU batch in
            ``[0, 1]`` (``C`` = 1 or 3) to a restored batch of the same shape, telling
            ``steps`` its progress when it has :attr:`steps` steps per image.
        label: Progress-bar label (and caption of the result in comparisons).
        psf_shape: The PSF's ``(h, w)`` when the method uses one: smaller images are
            refused.
        bytes_per_value: Estimated peak memory per pixel and channel of one image.
        reads: Other files the restorer reads (PSF, weights): never written over.
        tiled: ``restore`` falls back to tiles when a whole image does not fit, so only
            the whole-image buffers (:data:`TILED_BYTES_PER_VALUE`) must fit.
        steps: Steps per image shown as a second progress bar (0: none).
    """

    restore: Restorer
    label: str = "deblur"
    psf_shape: tuple[int, int] | None = None
    bytes_per_value: int = MODEL_BYTES_PER_VALUE
    reads: Sequence[Path] = ()
    tiled: bool = False
    steps: int = 0


def build_restorer(args: argparse.Namespace) -> Restoration:
    """The restoration the options ask for: a network, or a classical method."""
    if uses_model(args):
        model_file = Path(args.model) if args.model and Path(args.model).is_file() else None
        restore, reblur_file, steps = model_restorer(args)
        reads = [path for path in (model_file, reblur_file) if path is not None]
        return Restoration(restore, model_label(args), reads=reads, steps=steps)
    args.method = args.method or DEFAULT_METHOD
    device = resolve_device(args.device)
    method = create_method(args.method, **method_options(args))
    psf = None if args.psf is None else parse_psf(args.psf, dtype=torch.float32).to(device)
    per_value = METHOD_BYTES_PER_VALUE.get(args.method, CLASSICAL_BYTES_PER_VALUE)
    side = 1 if psf is None else max(psf.shape[-2:])
    context = max(MIN_CONTEXT, CONTEXT_PSF_SIDES * side)

    def run_method(x: torch.Tensor) -> torch.Tensor:
        return method(x.to(device=device, dtype=torch.float32), psf).clamp(0.0, 1.0).cpu()

    def restore(x: torch.Tensor, steps: Steps) -> torch.Tensor:
        tile = classical_tile(x.numel(), per_value, context)
        with torch.inference_mode():
            try:
                if tile is None:
                    return run_method(x)
                return tiled_apply(run_method, x, tile, TILE_OVERLAP, context=context)
            except ValueError as exc:
                raise DefocusError(str(exc)) from None

    psf_source = None if args.psf is None else psf_file(args.psf)
    return Restoration(
        restore,
        args.method,
        psf_shape=None if psf is None else (int(psf.shape[-2]), int(psf.shape[-1])),
        bytes_per_value=per_value,
        reads=[psf_source] if psf_source else [],
        tiled=True,
    )


def classical_tile(values: int, bytes_per_value: int, context: int) -> int | None:
    """Tile side for a classical method on an image of ``values`` values, or ``None``.

    ``None`` (the whole image at once) when its estimated peak fits the memory
    available; otherwise tiles of :data:`CLASSICAL_TILE` pixels (smaller when memory
    is short), each read with ``context`` pixels of margin.
    """
    budget = available_memory()
    if values * bytes_per_value <= budget:
        return None
    spare = max(0, budget - values * TILED_BYTES_PER_VALUE)
    window = math.isqrt(max(1, spare // (3 * bytes_per_value)))  # tile + context, RGB
    return max(TILE_OVERLAP + 1, min(CLASSICAL_TILE, window - 2 * context))


def plan_outputs(
    inputs: Sequence[str | Path],
    output: str | Path,
    compare: bool = False,
    reads: Sequence[Path] = (),
) -> Plan:
    """Pair every input image with its output path and check the plan is safe.

    Args:
        inputs: Image files or folders.
        output: A file (one input image, image extension) or a folder (created when
            missing if its parent exists and its name has no extension).
        compare: Whether a comparison figure is written beside each output.
        reads: Other files the command reads (PSF, weights).

    Returns:
        The plan, with every input's header read.

    Raises:
        DefocusError: If an input is missing or unreadable, an output would overwrite
            an input, two outputs would be written to one path, or the output folder
            cannot exist.
    """
    files = [f for item in inputs for f in list_images(item)]
    out = Path(output)
    if len(files) == 1 and out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
        if not out.parent.is_dir():
            raise DefocusError(f"{out}: output folder {out.parent} does not exist")
        pairs = [(files[0], out)]
    else:
        check_new_folder(out)
        pairs = [(f, out / f.name) for f in files]
    infos = [probe_image(f) for f in files]
    outputs = [dst for _, dst in pairs]
    figures = [comparison_path(dst) for dst in outputs] if compare else []
    check_outputs(reads=[*files, *reads], writes=outputs + figures)
    return Plan(pairs=pairs, infos=infos)


def check_plan(plan: Plan, restoration: Restoration) -> None:
    """Refuse inputs smaller than the PSF, or too large for the memory available.

    For a tiled restoration, an image whose whole-image estimate does not fit is
    processed tile by tile, and only the whole-image buffers must fit.
    """
    for info in plan.infos:
        if restoration.psf_shape is not None:
            check_psf_fits(restoration.psf_shape, (info.height, info.width), str(info.path))
        per_value = restoration.bytes_per_value
        if restoration.tiled and info.values * per_value > available_memory():
            per_value = TILED_BYTES_PER_VALUE
        info.check_memory(per_value)


def deblur_files(
    inputs: Sequence[str | Path],
    output: str | Path,
    restoration: Restoration,
    compare: bool = False,
) -> list[Path]:
    """Restore image files with ``restore`` and write them with their metadata, all or none.

    Every input's header is read and checked before any work; the outputs are staged
    in a hidden folder and moved into place only once every image is restored.

    Args:
        inputs: Image files or folders.
        output: Output file or folder (see :func:`plan_outputs`).
        restoration: The restorer and its needs (see :class:`Restoration`).
        compare: Also write a before/after figure beside each output.

    Returns:
        The written files.

    Raises:
        DefocusError: For unreadable inputs or an unsafe output plan (before writing),
            or a failure on any image (then nothing is written).
    """
    plan = plan_outputs(inputs, output, compare, restoration.reads)
    check_plan(plan, restoration)
    label = restoration.label
    written = []
    with StagedOutputs(plan.folder) as stage, progress_bar(label, len(plan.pairs)) as bar:
        progress, task = bar
        steps = progress.add_task("adapt", total=restoration.steps, visible=False)

        def advance(done: int) -> None:
            progress.update(steps, completed=done, visible=done < restoration.steps)

        for src, dst in plan.pairs:
            progress.update(task, description=src.name)
            image = read_image(src)
            try:
                restored = restoration.restore(image.pixels[None], advance)[0]
            except DefocusError as exc:
                raise DefocusError(f"{src}: {exc}") from None
            write_image(
                stage.staged(dst),
                restored,
                bit_depth=image.bit_depth,
                alpha=image.alpha,
                icc_profile=image.icc_profile,
                exif=image.exif,
            )
            written.append(dst)
            if compare:
                figure = comparison_path(dst)
                write_comparison(stage.staged(figure), image.pixels, restored, label)
                written.append(figure)
            progress.advance(task)
    return written


def with_post_processing(restoration: Restoration, post: str | None) -> Restoration:
    """The restoration followed by ``--post`` (GWIS with the result's blur map), if any."""
    if post is None:
        return restoration
    sharpen = create_method("gwis-blind")
    first = restoration.restore

    def restore(x: torch.Tensor, steps: Steps) -> torch.Tensor:
        restored = first(x, steps)
        with torch.inference_mode():
            return sharpen(restored, None).clamp(0.0, 1.0)

    return dataclasses.replace(
        restoration,
        restore=restore,
        label=f"{restoration.label} + {post}",
        bytes_per_value=max(restoration.bytes_per_value, POST_BYTES_PER_VALUE),
        tiled=False,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``defocus deblur``."""
    restoration = with_post_processing(build_restorer(args), args.post)
    deblur_files(args.inputs, args.output, restoration, compare=args.compare)
    return 0
