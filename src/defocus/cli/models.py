"""``defocus models``: list the network architectures and the shipped trained weights."""

from __future__ import annotations

import argparse

from defocus.cli.output import check_output_file, stdout_console, table, write_json
from defocus.infer import loading
from defocus.models import list_models, list_pretrained, resolve_weights


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``models`` sub-command."""
    parser = subparsers.add_parser(
        "models",
        help="list available models (architectures and shipped weights)",
        description=(
            "List the registered network architectures (parameter counts for luma and RGB "
            "input, tile alignment) and the trained weights shipped with defocus (size, "
            "architecture, scores). Use a weights name or a .safetensors file with "
            "`defocus deblur --model`."
        ),
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the listing as JSON to PATH (no PATH or '-' = stdout)",
    )
    parser.set_defaults(func=run)


def architecture_rows() -> list[dict[str, object]]:
    """One row per registered architecture: parameters for C = 1 and 3, size multiple."""
    rows = []
    for name in list_models():
        grey = loading.meta_model(name, 1)
        rows.append(
            {
                "name": name,
                "parameters_luma": loading.parameter_count(grey),
                "parameters_rgb": loading.parameter_count(loading.meta_model(name, 3)),
                "multiple": grey.multiple,
            }
        )
    return rows


def weights_rows() -> list[dict[str, object]]:
    """One row per shipped weights file: architecture, channels, size and scores."""
    rows = []
    for name in list_pretrained():
        info = loading.inspect_weights(resolve_weights(name))
        rows.append(
            {
                "name": name,
                "default": name == loading.DEFAULT_WEIGHTS,
                "architecture": info.architecture,
                "channels": "luma" if info.in_channels == 1 else "RGB",
                "parameters": info.parameters,
                "size_mb": info.size_bytes / 1e6,
                "scores": loading.weights_scores(info),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """List architectures and weights as tables, or as JSON with ``--json``."""
    check_output_file(args.json)
    architectures = architecture_rows()
    weights = weights_rows()
    if args.json is not None:
        write_json(
            args.json,
            {
                "default": loading.DEFAULT_WEIGHTS,
                "architectures": architectures,
                "weights": weights,
            },
        )
        return 0
    console = stdout_console()
    console.print(
        table(
            "Architectures (untrained; train them with `defocus train`)",
            [
                ("name", "name"),
                ("parameters_luma", "parameters (luma)"),
                ("parameters_rgb", "parameters (RGB)"),
                ("multiple", "tile alignment"),
            ],
            [
                {
                    **row,
                    "parameters_luma": f"{row['parameters_luma']:,}",
                    "parameters_rgb": f"{row['parameters_rgb']:,}",
                }
                for row in architectures
            ],
        )
    )
    if not weights:
        console.print(
            "No trained weights are shipped yet, so `defocus deblur` needs "
            "--model PATH.safetensors (weights trained with `defocus train`)."
        )
        return 0
    shown = [
        {
            **row,
            "name": f"{row['name']} (default)" if row["default"] else row["name"],
            "parameters": f"{row['parameters']:,}",
        }
        for row in weights
    ]
    console.print(
        table(
            "Shipped weights (use with `defocus deblur --model NAME`)",
            [
                ("name", "name"),
                ("architecture", "architecture"),
                ("channels", "channels"),
                ("parameters", "parameters"),
                ("size_mb", "size (MB)"),
            ],
            shown,
            digits={"size_mb": 1},
        )
    )
    for row in weights:
        if row["scores"]:
            console.print(f"Scores of {row['name']}:")
            console.print(
                table(
                    None,
                    [("score", "score"), ("value", "value")],
                    [{"score": k, "value": str(v)} for k, v in row["scores"].items()],
                )
            )
    return 0
