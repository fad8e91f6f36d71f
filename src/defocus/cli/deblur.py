"""``defocus deblur``: remove blur from image files with a known PSF (classical methods).

The file handling (inputs, output naming, safety checks, metadata, progress) lives in
:func:`deblur_files`, which takes any ``restore(tensor) -> tensor`` callable, so other
restoration back-ends (learned models) plug into the same command as one more branch
of :func:`build_restorer`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from defocus.classical import create_method, list_methods
from defocus.classical.wiener import BALANCE_RULES
from defocus.cli.deblur_model import (
    add_model_arguments,
    model_label,
    model_restorer,
    uses_model,
    write_comparison,
)
from defocus.cli.output import progress_bar
from defocus.degrade.kernels import parse_psf
from defocus.errors import DefocusError
from defocus.infer import resolve_device
from defocus.io import IMAGE_SUFFIXES, list_images, read_image, write_image

Restorer = Callable[[torch.Tensor], torch.Tensor]

# Working domains of the FFT methods, and the blur boundary of the black-box methods.
DOMAIN_METHODS = ("wiener", "richardson-lucy", "red-fp", "red-sd")
PADDINGS = ("mirror", "reflect", "replicate", "zeros", "circular")
DEFAULT_METHOD = "wiener"


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
            "deblurs blind (--model, default: the default model)."
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
        help="Wiener balance: a number, or auto (default; = gcv), gcv or nsr (noise estimate)",
    )
    parser.add_argument(
        "--iterations", type=int, metavar="N", help="iterations (default: the method's)"
    )
    parser.add_argument(
        "--padding",
        choices=PADDINGS,
        help=(
            "borders: working domain of wiener/richardson-lucy/red (default mirror), or "
            "boundary of the blur used by al/mrl/mlm (default reflect; no mirror)"
        ),
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto"
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
        try:
            rule = args.balance in BALANCE_RULES
            options["balance"] = args.balance if rule else float(args.balance)
        except ValueError:
            raise DefocusError(
                f"--balance must be a number, auto, gcv or nsr, got {args.balance!r}"
            ) from None
    if args.iterations is not None:
        if args.method == "wiener":
            raise DefocusError("--iterations does not apply to wiener")
        if args.iterations < 1:
            raise DefocusError(f"--iterations must be >= 1, got {args.iterations}")
        options["iterations"] = args.iterations
    if args.padding is not None:
        if args.padding == "mirror" and args.method not in DOMAIN_METHODS:
            raise DefocusError(f"--padding mirror is not available for {args.method}")
        options["padding"] = args.padding
    return options


def build_restorer(args: argparse.Namespace) -> Restorer:
    """The ``restore(x) -> x`` function the options ask for (``(1, C, H, W)`` in [0, 1])."""
    if uses_model(args):
        return model_restorer(args)
    args.method = args.method or DEFAULT_METHOD
    device = resolve_device(args.device)
    method = create_method(args.method, **method_options(args))
    psf = None if args.psf is None else parse_psf(args.psf, dtype=torch.float32).to(device)

    def restore(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out = method(x.to(device=device, dtype=torch.float32), psf)
        return out.clamp(0.0, 1.0).cpu()

    return restore


def plan_outputs(inputs: Sequence[str | Path], output: str | Path) -> list[tuple[Path, Path]]:
    """Pair every input image with its output path and check the plan is safe.

    Args:
        inputs: Image files or folders.
        output: A file (one input image, image extension) or a folder (created when
            missing if its parent exists).

    Returns:
        ``(input, output)`` pairs.

    Raises:
        DefocusError: If an input is missing, an output would overwrite an input, two
            inputs would write the same output, or the output folder cannot exist.
    """
    files = [f for item in inputs for f in list_images(item)]
    out = Path(output)
    if len(files) == 1 and out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
        if not out.parent.is_dir():
            raise DefocusError(f"{out}: output folder {out.parent} does not exist")
        pairs = [(files[0], out)]
    else:
        if out.exists() and not out.is_dir():
            raise DefocusError(f"{out}: exists and is not a folder (several outputs)")
        if not out.exists() and not out.parent.is_dir():
            raise DefocusError(f"{out}: cannot create output folder ({out.parent} missing)")
        pairs = [(f, out / f.name) for f in files]
    sources = {f.resolve() for f in files}
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        target = dst.resolve()
        if target in sources:
            raise DefocusError(f"{dst}: output would overwrite an input image")
        if target in seen:
            raise DefocusError(f"{dst}: both {seen[target]} and {src} would be written there")
        seen[target] = src
    return pairs


def deblur_files(
    inputs: Sequence[str | Path],
    output: str | Path,
    restore: Restorer,
    label: str = "deblur",
    compare: bool = False,
) -> list[Path]:
    """Restore image files with ``restore`` and write them atomically with their metadata.

    Args:
        inputs: Image files or folders.
        output: Output file or folder (see :func:`plan_outputs`).
        restore: Maps a ``(1, C, H, W)`` float32 CPU batch in ``[0, 1]`` (``C`` = 1 or
            3) to a restored batch of the same shape.
        label: Progress-bar label (and caption of the result in comparisons).
        compare: Also write a before/after figure beside each output.

    Returns:
        The written files.

    Raises:
        DefocusError: For unreadable inputs or an unsafe output plan (before writing).
    """
    pairs = plan_outputs(inputs, output)
    folder = pairs[0][1].parent
    folder.mkdir(exist_ok=True)
    written = []
    with progress_bar(label, len(pairs)) as (progress, task):
        for src, dst in pairs:
            progress.update(task, description=src.name)
            image = read_image(src)
            try:
                restored = restore(image.pixels[None])[0]
            except DefocusError as exc:
                raise DefocusError(f"{src}: {exc}") from None
            write_image(
                dst,
                restored,
                bit_depth=image.bit_depth,
                alpha=image.alpha,
                icc_profile=image.icc_profile,
                exif=image.exif,
            )
            written.append(dst)
            if compare:
                written.append(write_comparison(dst, image.pixels, restored, label))
            progress.advance(task)
    return written


def run(args: argparse.Namespace) -> int:
    """Run ``defocus deblur``."""
    restore = build_restorer(args)
    label = model_label(args) if uses_model(args) else args.method
    deblur_files(args.inputs, args.output, restore, label=label, compare=args.compare)
    return 0
