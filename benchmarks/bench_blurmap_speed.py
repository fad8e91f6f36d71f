"""Time and peak memory of blur-map estimators on a large photo, against the baseline.

Usage: python benchmarks/bench_blurmap_speed.py PHOTO [--methods learned,gradient-ratio]
       [--precision auto] [--repeat 2]

Each method runs in a fresh process (so that peak RSS is its own): the photo is read,
then ``estimate_blur_map`` is timed (best of ``--repeat``, after one warm-up on a
small crop), with PyTorch's huge-page allocations on as ``defocus blurmap`` runs
it (``THP_MEM_ALLOC_ENABLE=0`` in the environment measures 4 KiB pages). Prints
seconds, seconds per megapixel and peak RSS per method, and each method's time
relative to the first one named (the baseline of the same run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, os, resource, sys, time
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # before torch, as `defocus blurmap`
from defocus.blurmap import estimate_blur_map
from defocus.io import read_image
path, method, precision, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
image = read_image(path).pixels[None]
estimate_blur_map(image[..., :256, :256], method, precision)
best = float("inf")
for _ in range(repeat):
    start = time.perf_counter()
    estimate_blur_map(image, method, precision)
    best = min(best, time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": best, "pixels": image.shape[-1] * image.shape[-2], "peak": peak}))
"""


def main() -> None:
    """Run every method in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photo")
    parser.add_argument("--methods", default="gradient-ratio,learned")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    results = {}
    for method in args.methods.split(","):
        command = [sys.executable, "-c", CHILD, args.photo, method, args.precision]
        output = subprocess.run(
            [*command, str(args.repeat)], check=True, capture_output=True, text=True
        ).stdout
        results[method] = json.loads(output.strip().splitlines()[-1])
    baseline = next(iter(results.values()))["seconds"]
    for method, r in results.items():
        megapixels = r["pixels"] / 1e6
        print(
            f"{method:15s} {r['seconds']:6.2f} s  {r['seconds'] / megapixels:5.2f} s/MP  "
            f"peak RSS {r['peak'] / 2**30:4.2f} GB  x{r['seconds'] / baseline:.2f} of "
            f"{next(iter(results))} ({megapixels:.1f} MP, precision {args.precision})"
        )


if __name__ == "__main__":
    main()
