"""Why EHNet keeps its grouped convolutions in float32 under CPU autocast (issue 14).

1. Forward + backward of one grouped 3x3 convolution (EHNet's shapes, batch 2, 64²) in
   float32 and in bfloat16 autocast, channels-first and channels-last.
2. EHNet training steps (forward, L1, backward, Adam; batch 2 of 128² luma crops) in
   float32, in bfloat16 with plain ``nn.Conv2d`` grouped convolutions (as before) and
   in bfloat16 with :class:`~defocus.models.grouped_conv.GroupedConv2d`, interleaved
   in one process so that the machine's load affects all three alike.

    python benchmarks/bench_grouped_conv.py [--steps 4]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from defocus.models import create_model
from defocus.models.grouped_conv import GroupedConv2d


def conv_ms(channels: int, out: int, half: bool, channels_last: bool, repeats: int = 5) -> float:
    conv = nn.Conv2d(channels, out, 3, padding=1, groups=channels, bias=False)
    x = torch.rand(2, channels, 64, 64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            y = conv(x)
        y.float().sum().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    print("grouped 3x3 convolution, forward + backward, 2 x 64², ms")
    print(f"{'channels':>10} {'fp32':>8} {'fp32 NHWC':>10} {'bf16':>8} {'bf16 NHWC':>10}")
    for channels, out in [(48, 144), (48, 96), (96, 288), (48, 48)]:
        cells = [conv_ms(channels, out, half, last) for half in (False, True) for last in (0, 1)]
        print(f"{f'{channels}->{out}':>10} " + " ".join(f"{c:>8.1f}  " for c in cells))

    torch.manual_seed(0)
    model = create_model("ehnet", in_channels=1).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x, y = torch.rand(2, 1, 128, 128), torch.rand(2, 1, 128, 128)

    def step(variant: str) -> float:
        before = variant == "bf16, plain grouped conv"  # GroupedConv2d as plain nn.Conv2d
        patch = mock.patch.object(GroupedConv2d, "forward", nn.Conv2d.forward)
        with patch if before else contextlib.nullcontext():
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant != "fp32"):
                restored = model(x)
            loss = F.l1_loss(restored.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return time.perf_counter() - start

    variants = ["fp32", "bf16, plain grouped conv", "bf16, GroupedConv2d"]
    times: dict[str, list[float]] = {v: [] for v in variants}
    for variant in variants:
        step(variant)  # warm-up
    for _ in range(args.steps):
        for variant in variants:
            times[variant].append(step(variant))
    base = statistics.median(times["fp32"])
    print(f"\nEHNet training step, 2 x 128², median of {args.steps} (interleaved)")
    for variant in variants:
        seconds = statistics.median(times[variant])
        print(f"{variant:<26} {seconds:6.2f} s/step  {base / seconds:5.2f}x of fp32")


if __name__ == "__main__":
    main()
