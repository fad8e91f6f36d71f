"""Peak memory of the file commands on large photos, against what they estimate.

Generates a smooth RGB JPEG of ``--width x --height`` pixels, then runs each command
in its own subprocess under ``/usr/bin/time -v`` and reports its peak resident memory
(whole process: Python, torch, the photo and the output), the bytes per value (pixel x
channel) that this gives, the estimate the command checks before decoding any pixel,
and the wall time. Commands that must refuse (a budget below their need) are timed
too: the refusal has to come before any pixel is decoded.

Usage::

    python benchmarks/bench_memory.py                          # 144 MP degrade + refusals
    python benchmarks/bench_memory.py --width 4000 --height 3000 --deblur
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

DEFOCUS = [sys.executable, "-m", "defocus"]


def make_photo(path: Path, width: int, height: int) -> None:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = ((np.sin(x / 50.0) + np.cos(y / 37.0)) * 60 + 128).astype(np.uint8)
    Image.fromarray(np.stack([grey, grey[::-1], grey[:, ::-1]], -1)).save(path, quality=85)


def measure(label: str, args: list[str], values: int, env: dict[str, str] | None = None) -> None:
    start = time.perf_counter()
    run = subprocess.run(
        ["/usr/bin/time", "-v", *DEFOCUS, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    seconds = time.perf_counter() - start
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)[1]) * 1024
    errors = [line for line in run.stderr.splitlines() if line.startswith("defocus: error")]
    outcome = errors[0] if errors else f"exit {run.returncode}"
    print(
        f"| {label} | {peak / 2**30:.2f} GB | {peak / values:.1f} | {seconds:.1f} s | {outcome} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=12000)
    parser.add_argument("--height", type=int, default=12000)
    parser.add_argument("--deblur", action="store_true", help="also classical deblur (slow)")
    args = parser.parse_args()
    values = args.width * args.height * 3
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        make_photo(photo, args.width, args.height)
        print(
            f"{args.width}x{args.height} RGB ({values / 1e6:.0f} M values), "
            f"python {sys.version.split()[0]}"
        )
        print("| command | peak RSS | bytes/value | wall | outcome |\n|---|---|---|---|---|")
        out = Path(folder) / "out"
        measure(
            "degrade --psf box:1 --noise 0.01",
            ["degrade", str(photo), "-o", str(out), "--psf", "box:1", "--noise", "0.01"],
            values,
        )
        measure(
            "degrade, DEFOCUS_MEMORY_LIMIT=1G (refused)",
            ["degrade", str(photo), "-o", str(out) + "2"],
            values,
            {"DEFOCUS_MEMORY_LIMIT": "1G"},
        )
        measure(
            "deblur --psf disk:1e9 (refused)",
            ["deblur", str(photo), "-o", str(out / "x.png"), "--psf", "disk:1e9"],
            values,
        )
        measure(
            "deblur --psf disk:3, DEFOCUS_MEMORY_LIMIT=1G (refused)",
            ["deblur", str(photo), "-o", str(out / "y.png"), "--psf", "disk:3"],
            values,
            {"DEFOCUS_MEMORY_LIMIT": "1G"},
        )
        if args.deblur:
            measure(
                "deblur --psf disk:3 (wiener, whole)",
                ["deblur", str(photo), "-o", str(out / "w.png"), "--psf", "disk:3"],
                values,
            )
            limit = f"{int(values * 40)}"
            measure(
                f"deblur --psf disk:3 (wiener, tiled: limit {int(limit) / 2**30:.1f} GB)",
                ["deblur", str(photo), "-o", str(out / "t.png"), "--psf", "disk:3"],
                values,
                {"DEFOCUS_MEMORY_LIMIT": limit},
            )


if __name__ == "__main__":
    main()
