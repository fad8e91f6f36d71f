"""Entry point of the ``defocus`` command: sub-commands, error handling, exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from defocus import __version__
from defocus.errors import DefocusError

# Each module defines ``add_parser(subparsers)`` which registers one sub-command and
# sets ``func`` (taking the parsed namespace, returning an exit code) as its default.
COMMAND_MODULES = (
    "defocus.cli.blurmap",
    "defocus.cli.deblur",
    "defocus.cli.degrade",
    "defocus.cli.demo",
    "defocus.cli.evaluate",
    "defocus.cli.models",
    "defocus.cli.prepare_pairs",
    "defocus.cli.score",
    "defocus.cli.sweep",
    "defocus.cli.train",
)


HUGE_PAGE_COMMANDS = frozenset({"blurmap"})
"""Commands run with PyTorch's transparent-huge-page CPU allocations (BENCHMARKS.md).

A blur map allocates hundreds of MB of fresh activations per 1632 px tile, and with
4 KiB pages each page faults in zeroed: the 12-megapixel map took 10.8 s (more than
half in the kernel), 4.4 s with huge pages, at the same peak memory. ``deblur`` gains
20 % at 24 MP but peaks 236 MiB higher (3.15 GB, over its 3 GB budget), so it keeps
4 KiB pages."""


def choose_page_size(argv: Sequence[str]) -> None:
    """Turn on huge-page allocations for :data:`HUGE_PAGE_COMMANDS`, before torch loads.

    PyTorch reads ``THP_MEM_ALLOC_ENABLE`` once, at its first allocation, so this does
    nothing once torch is imported; a value the user set is kept, and where the kernel
    has no transparent huge pages the setting is harmless.
    """
    if argv and argv[0] in HUGE_PAGE_COMMANDS and "torch" not in sys.modules:
        os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``defocus: error:`` line (exit 2).

    Sub-command parsers are built with the same class, so every command reports a bad
    option the same way as a bad file; ``--help`` still prints the full usage.
    """

    def error(self, message: str) -> NoReturn:
        """Print ``defocus: error: <command>: <message>`` on one line and exit with 2."""
        where = self.prog.removeprefix("defocus").strip()
        prefix = f"{where}: " if where else ""
        print(f"defocus: error: {prefix}{_one_line(message)}", file=sys.stderr)
        raise SystemExit(2)


class Terminated(Exception):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command registered."""
    parser = OneLineParser(
        prog="defocus",
        description="Remove out-of-focus blur from photographs and judge restorations.",
    )
    parser.add_argument("--version", action="version", version=f"defocus {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    User errors (:class:`DefocusError`, and any ``ValueError`` or ``TypeError`` the
    library raises for a bad argument), system errors on files (``OSError``: disk
    full, permission denied, ...) and memory exhaustion print ``defocus: error:
    <message>`` on one line to stderr and return 1; no traceback is shown. Usage
    errors print one such line and exit with 2. SIGINT and SIGTERM unwind the command
    like an error, so that temporary files are removed and nothing partial is left
    (exit 130 and 143); only SIGKILL can leave a hidden temporary file (``.NAME.*``)
    beside an output.
    """
    choose_page_size(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except (DefocusError, ValueError, TypeError) as exc:  # the library's errors are ValueErrors
        print(f"defocus: error: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"defocus: error: {where}{_one_line(exc.strerror or str(exc))}", file=sys.stderr)
        return 1
    except MemoryError:
        print(
            "defocus: error: out of memory (try a smaller --tile or smaller images)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("defocus: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("defocus: terminated", file=sys.stderr)
        return 143
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
