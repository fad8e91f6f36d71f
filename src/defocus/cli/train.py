"""``defocus train``: train a deblurring network from a TOML recipe (also under torchrun)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``train`` sub-command."""
    parser = subparsers.add_parser(
        "train",
        help="train a deblurring network from a TOML recipe",
        description=(
            "Train a network stage by stage as a TOML recipe describes (see configs/). "
            "Run under `torchrun --nproc-per-node N` for data-parallel training."
        ),
    )
    parser.add_argument("--config", required=True, help="TOML recipe, e.g. configs/smoke.toml")
    parser.add_argument("--out", required=True, help="output folder of the run")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last complete checkpoint",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override recipe keys, e.g. train.batch_size=8 stages.finetune.beta=0.01",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the recipe, train, and print a JSON summary on stdout (rank 0)."""
    from defocus.train import load_config, train
    from defocus.train.distributed import leave_if_worker

    config = load_config(args.config, args.overrides)
    result = train(config, args.out, resume=args.resume)
    if result.stopped_at:
        print(
            f"defocus: stopped after step {result.stopped_at} (train.stop_after)", file=sys.stderr
        )
    if int(os.environ.get("RANK", "0")) == 0:
        summary = {"stopped_at": result.stopped_at, "stages": [asdict(s) for s in result.stages]}
        print(json.dumps(summary, indent=2))
    leave_if_worker(0)
    return 0
