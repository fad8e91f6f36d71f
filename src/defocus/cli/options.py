"""Argument types shared by the commands: numbers that must be finite and in range."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


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
