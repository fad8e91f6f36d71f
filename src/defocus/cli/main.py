"""Entry point of the ``defocus`` command: sub-commands, error handling, exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from defocus import __version__
from defocus.errors import DefocusError

# Each module defines ``add_parser(subparsers)`` which registers one sub-command and
# sets ``func`` (taking the parsed namespace, returning an exit code) as its default.
COMMAND_MODULES = (
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


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
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

    User errors (:class:`DefocusError`) and system errors on files (``OSError``:
    disk full, permission denied, ...) print ``defocus: error: <message>`` on one
    line to stderr and return 1; no traceback is shown.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DefocusError as exc:
        print(f"defocus: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"defocus: error: {where}{_one_line(exc.strerror or str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("defocus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
