"""The network branch of ``defocus deblur``: ``--model``, ``--tile``, ``--adapt``, ``--compare``.

Kept apart from :mod:`defocus.cli.deblur` (which owns file handling and the classical
methods) so that the command only needs to call :func:`add_model_arguments`,
:func:`model_restorer` and :func:`write_comparison`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

import torch

from defocus.classical import BLIND_METHODS
from defocus.cli.options import add_precision_argument, count, number
from defocus.errors import DefocusError
from defocus.infer import AUTO_TILE, deblur, load_model, resolve_device
from defocus.infer.adapt import (
    ADAPT_ANCHOR,
    ADAPT_LR,
    ADAPT_STEPS,
    MAX_STEPS,
    Adaptation,
    reblur_module_for,
)
from defocus.infer.compare import comparison_figure
from defocus.infer.fusion import fold_batchnorm
from defocus.io import atomic_path
from defocus.runtime.tiling import check_tile_settings

COMPARE_SUFFIX = ".compare.png"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of blind deblurring with a network to the ``deblur`` parser."""
    group = parser.add_argument_group("network (blind deblurring, used when --psf is not given)")
    group.add_argument(
        "--model",
        metavar="NAME|PATH",
        help="shipped weights name or .safetensors file (default: the default model; "
        "see `defocus models`)",
    )
    group.add_argument(
        "--tile",
        type=int,
        metavar="N",
        help=f"tile side in pixels (default: whole image up to 1 megapixel, {AUTO_TILE} "
        "beyond; 0 = never tile)",
    )
    group.add_argument(
        "--overlap", type=int, default=32, metavar="N", help="tile overlap (default 32)"
    )
    add_precision_argument(group)
    group.add_argument(
        "--adapt",
        action="store_true",
        help="test-time adaptation: tune the network on each photo first, without a sharp "
        "image, with the reblurring loss of a module trained on its outputs (slower)",
    )
    group.add_argument(
        "--adapt-steps",
        type=count(1, MAX_STEPS),
        metavar="N",
        help=f"adaptation steps per photo (default {ADAPT_STEPS})",
    )
    group.add_argument(
        "--adapt-lr",
        type=number(0.0, above=True),
        metavar="LR",
        help=f"adaptation learning rate (default {ADAPT_LR:g})",
    )
    group.add_argument(
        "--adapt-anchor",
        type=number(0.0),
        metavar="MU",
        help="weight of the pull towards the un-adapted output, which keeps in-focus "
        f"regions as they were (default {ADAPT_ANCHOR:g}; 0 = none)",
    )
    group.add_argument(
        "--adapt-seed", type=int, metavar="N", help="seed of the adaptation crops (default 0)"
    )
    group.add_argument(
        "--reblur-module",
        metavar="NAME|PATH",
        help="reblurring module for --adapt (default: the one shipped with the model)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help=f"also write OUTPUT{COMPARE_SUFFIX}: input and result side by side with their Q",
    )


def uses_model(args: argparse.Namespace) -> bool:
    """Whether the options ask for a network: ``--model``, or no ``--psf`` at all.

    A blind classical method (``--method wiener-blind``) needs neither.

    Raises:
        DefocusError: If network and classical options are mixed.
    """
    blind = args.method in BLIND_METHODS
    if blind and (args.model is not None or args.psf is not None):
        raise DefocusError(
            f"--method {args.method} estimates the blur itself: drop --psf and --model"
        )
    if blind or (args.model is None and args.psf is not None):
        if args.adapt or args.reblur_module is not None:
            raise DefocusError("--adapt and --reblur-module apply to networks (--model) only")
        if args.tile is not None:
            raise DefocusError("--tile applies to --model only, not to classical methods")
        if args.precision is not None:
            raise DefocusError(
                "--precision applies to networks only; classical methods run in full precision"
            )
        return False
    if args.psf is not None:
        raise DefocusError("--psf is for the classical --method; a --model deblurs blind")
    if args.method is not None:
        raise DefocusError(f"--method {args.method} is non-blind: give the blur with --psf")
    return True


def adaptation(args: argparse.Namespace) -> Adaptation | None:
    """The ``--adapt`` settings, with the reblurring module loaded (``None`` without it).

    Raises:
        DefocusError: For adaptation options without ``--adapt``, or no usable module.
    """
    given = {
        "steps": args.adapt_steps,
        "lr": args.adapt_lr,
        "anchor": args.adapt_anchor,
        "seed": args.adapt_seed,
        "reblur": args.reblur_module,
    }
    given = {key: value for key, value in given.items() if value is not None}
    if not args.adapt:
        if given:
            raise DefocusError(
                "--adapt-steps, --adapt-lr, --adapt-anchor, --adapt-seed and --reblur-module "
                "need --adapt"
            )
        return None
    settings = Adaptation(**given)
    module = reblur_module_for(settings, args.model or "default")  # fail before any work
    return dataclasses.replace(settings, reblur=module)


def model_restorer(
    args: argparse.Namespace,
) -> tuple[Callable[[torch.Tensor, Callable[[int], None]], torch.Tensor], Path | None, int]:
    """Load the network once; return ``restore(x, steps)`` running tiled :func:`deblur`.

    Returns:
        The restorer (``steps`` is told the adaptation steps done, with ``--adapt``),
        the reblurring module's file when ``--reblur-module`` names one, and the
        adaptation steps per photo (0 without ``--adapt``).

    Raises:
        DefocusError: If the model, device, tile or adaptation settings are unusable
            (before any file is written).
    """
    if args.tile is None or args.tile > 0:
        check_tile_settings(args.tile or AUTO_TILE, args.overlap)
    device = resolve_device(args.device)
    network = fold_batchnorm(load_model(args.model or "default")).to(device)
    adapt = adaptation(args)

    def restore(x: torch.Tensor, steps: Callable[[int], None]) -> torch.Tensor:
        return deblur(
            x,
            network,
            tile=args.tile,
            overlap=args.overlap,
            device=device,
            precision=args.precision or "auto",
            adapt=adapt,
            progress=steps,
        )

    module = args.reblur_module
    reblur_file = Path(module) if module is not None and Path(module).is_file() else None
    return restore, reblur_file, 0 if adapt is None else adapt.steps


def model_label(args: argparse.Namespace) -> str:
    """Short name of the model for captions: the weights name or file name (+ adapt)."""
    name = Path(args.model).name if args.model else "default model"
    return f"{name} + adapt" if args.adapt else name


def comparison_path(output: Path) -> Path:
    """Where ``--compare`` writes the figure of ``output``."""
    return output.with_name(output.stem + COMPARE_SUFFIX)


def write_comparison(path: Path, before: torch.Tensor, after: torch.Tensor, label: str) -> None:
    """Write a before/after figure to ``path`` (PNG) atomically.

    Shape:
        ``before``, ``after``: :math:`(C, H, W)` in ``[0, 1]``.
    """
    figure = comparison_figure(before, after, ("input", label))
    with atomic_path(path) as temporary:
        figure.save(temporary, format="PNG")
