"""Argument types shared by the commands: numbers that must be finite and in range."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from defocus.runtime.precision import PRECISIONS


def number(minimum: float = -math.inf, *, above: bool = False) -> Callable[[str], float]:
    """An ``argparse`` type: a finite float ``>= minimum`` (``> minimum`` when ``above``).

    NaN and infinities are refused with the option named in the one-line error.
    """
    bound = f"> {minimum:g}" if above else f">= {minimum:g}"
    wanted = "a finite number" + ("" if minimum == -math.inf else f" {bound}")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        ok = math.isfinite(value) and (value > minimum if above else value >= minimum)
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def count(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An ``argparse`` type: an integer in ``minimum .. maximum``."""
    wanted = (
        f"an integer >= {minimum}" if maximum is None else f"an integer in {minimum}..{maximum}"
    )

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def add_precision_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--precision auto|fp32|bf16|fp16`` of the networks (:mod:`defocus.runtime.precision`)."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="network arithmetic: auto (default) = bfloat16 autocast for the default "
        "model's U-Net on CPUs with native bfloat16 units and on CUDA, float32 elsewhere "
        "and for single-stage networks (whose output bfloat16 would limit to ~8 bits); "
        "fp32 = float32 throughout; the blur estimate and Wiener stages always run in "
        "full precision",
    )
