"""Training throughput (crops/s) of every registered model, in float32 and mixed precision.

One training step = forward, L1 loss, backward and an Adam update on a batch of
random 128x128 luma crops blurred by a disk of radius 3 px (data loading is not
included: the synthetic dataset is benchmarked separately and is much faster). The
median of a few timed steps after one warm-up step is reported, with each model's
ratio to ARKNet measured in the same run (list ARKNet first), and the process's peak
resident memory so far. With
``--precision bf16`` (or ``fp16``) each model is also timed under autocast, as the
trainer runs it (``train.precision``), with the speed-up over its float32 step.

    python benchmarks/bench_train.py [--steps 3] [--batch 4] [--crop 128] [--threads N]
    python benchmarks/bench_train.py --precision bf16 --models arknet xy-deblur ehnet wiener-unet
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from defocus.degrade import blur, disk_kernel
from defocus.models import create_model, list_models


def step_seconds(
    name: str, steps: int, batch: int, crop: int, device: str, half: torch.dtype | None = None
) -> float:
    torch.manual_seed(0)
    model = create_model(name, in_channels=1).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    sharp = torch.rand(batch, 1, crop, crop, device=device)
    # a visible defocus, so that WienerUNet's blind estimate does not report "no blur"
    blurry = blur(sharp, disk_kernel(3).float().to(device))
    times = []
    for _ in range(steps + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device, dtype=half or torch.float32, enabled=half is not None):
            restored = model(blurry)
        loss = F.l1_loss(restored.float(), sharp)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--precision", choices=("bf16", "fp16"), default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.models or list_models()
    print(
        f"device {args.device}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"{args.crop}x{args.crop}, C=1, median of {args.steps} steps",
        flush=True,
    )
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision or "")
    extra = f" {args.precision + ' crops/s':>14} {'speed-up':>9}" if half else ""
    print(f"{'model':<12} {'s/step':>8} {'crops/s':>9} {'vs ARKNet':>10} {'peak RSS':>9}{extra}")
    reference = None
    for name in names:
        seconds = step_seconds(name, args.steps, args.batch, args.crop, args.device)
        reference = reference or (seconds if name == "arknet" else None)
        ratio = f"{reference / seconds:.2f}x" if reference else "-"
        mixed = ""
        if half:
            fast = step_seconds(name, args.steps, args.batch, args.crop, args.device, half)
            mixed = f" {args.batch / fast:14.2f} {seconds / fast:8.2f}x"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"{name:<12} {seconds:8.3f} {args.batch / seconds:9.2f} {ratio:>10} "
            f"{peak:7.1f} GB{mixed}",
            flush=True,
        )


if __name__ == "__main__":
    main()
