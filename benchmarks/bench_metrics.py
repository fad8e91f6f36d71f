"""Speed and memory of the vectorised metrics (Q, Ω) against the per-patch reference.

Run from the repository root:

    python benchmarks/bench_metrics.py

1. Q (both variants) and Ω on a 1024x1024 grey image (GT.png of the test fixtures
   tiled 8x8), vectorised (float32, the precision images are read in, and float64)
   vs the plain per-patch reference of ``tests/metrics/reference.py`` (numpy,
   float64), measured in the same run; the ratio is what counts.
2. Q forward + backward on a 12-megapixel (4000x3000) float32 image, wall-clock and
   process CPU time, with 1 and 2 intra-op threads.
3. Peak memory of that forward + backward, in a fresh subprocess: the kernel's peak
   resident set size (VmHWM, reset through /proc/self/clear_refs once the input
   exists) minus the resident set size just before (Linux only).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from defocus.io import read_image
from defocus.metrics import omega, sharpness_q

ROOT = Path(__file__).resolve().parents[1]


def load_reference():
    """Import tests/metrics/reference.py (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location("reference", ROOT / "tests/metrics/reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU time of ``repeats`` calls, in seconds."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def test_image(size: int) -> np.ndarray:
    gt = read_image(ROOT / "tests/fixtures/omega/GT.png").pixels[0].double().numpy()
    reps = -(-size // gt.shape[0])
    return np.tile(gt, (reps, reps))[:size, :size]


def against_reference(size: int, repeats: int) -> None:
    ref = load_reference()
    image = test_image(size)
    restored = np.clip(image + 0.02 * np.random.default_rng(0).standard_normal(image.shape), 0, 1)
    cases = [
        ("Q zhu-milanfar", lambda: ref.q_zhu_milanfar(image), lambda x, y: sharpness_q(x)),
        (
            "Q qsharpnet",
            lambda: ref.q_qsharpnet(image),
            lambda x, y: sharpness_q(x, variant="qsharpnet"),
        ),
        ("Omega", lambda: ref.omega(restored, image), lambda x, y: omega(y, x)),
    ]
    print(f"\n{size}x{size}, 1 thread: per-patch reference (numpy, float64) vs vectorised")
    print("medians; speed-up = reference time / vectorised time, wall-clock (process CPU)")
    print(
        f"{'metric':15s} {'reference s':>16s} {'float32 ms':>16s} {'speed-up':>13s}"
        f" {'float64 ms':>16s} {'speed-up':>13s}"
    )
    torch.set_num_threads(1)
    for name, slow, fast in cases:
        row = f"{name:15s}"
        slow_wall, slow_cpu = timed(slow, 1)
        row += f" {slow_wall:7.2f} ({slow_cpu:6.2f})"
        for dtype in (torch.float32, torch.float64):
            x = torch.from_numpy(image).to(dtype)[None, None]
            y = torch.from_numpy(restored).to(dtype)[None, None]
            fast(x, y)  # warm-up
            wall, cpu = timed(lambda x=x, y=y, fast=fast: fast(x, y), repeats)
            row += f" {wall * 1e3:7.1f} ({cpu * 1e3:6.1f})"
            row += f" {slow_wall / wall:5.0f}x ({slow_cpu / cpu:4.0f}x)"
        print(row)


def forward_backward(height: int, width: int, threads: int, repeats: int) -> None:
    torch.set_num_threads(threads)
    x = torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(0))

    def step() -> None:
        leaf = x.detach().requires_grad_(True)
        sharpness_q(leaf).sum().backward()

    step()  # warm-up
    wall, cpu = timed(step, repeats)
    print(f"{threads} thread(s): wall-clock {wall:.3f} s, process CPU {cpu:.3f} s (medians)")


def _status_mib(field: str) -> float:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory_child(height: int, width: int) -> None:
    """Run in a fresh subprocess: peak RSS of Q forward + backward above the RSS before it.

    The kernel's peak-RSS mark (VmHWM) is reset once the input exists (writing 5 to
    /proc/self/clear_refs), so the peak measures only what forward + backward add.
    """
    torch.set_num_threads(1)
    x = torch.rand(1, 1, height, width).requires_grad_(True)
    before = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    sharpness_q(x).sum().backward()
    peak = _status_mib("VmHWM")
    print(f"{peak - before:.0f} {before:.0f} {peak:.0f}")


def peak_memory(height: int, width: int) -> None:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", f"{height}x{width}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    growth, before, peak = (float(v) for v in out)
    image_mib = height * width * 4 / 2**20
    print(
        f"peak RSS above the RSS before forward+backward: {growth:.0f} MiB "
        f"(input image {image_mib:.0f} MiB, its gradient {image_mib:.0f} MiB; "
        f"RSS {before:.0f} MiB -> peak {peak:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="side of the reference image")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(*(int(v) for v in args.memory_child.split("x")))
        return
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    if not args.skip_reference:
        against_reference(args.size, args.repeats)
    print("\nQ forward+backward, 4000x3000 float32 (12 MP)")
    for threads in (1, 2):
        forward_backward(3000, 4000, threads, args.repeats)
    peak_memory(3000, 4000)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
