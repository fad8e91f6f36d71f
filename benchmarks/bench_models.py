"""Parameters and CPU forward time of every registered model on 256x256 crops.

Models are timed interleaved (round-robin over repeats) so that the shared machine's
load affects all of them alike; the table gives the best wall-clock and CPU time
(``time.process_time``, what a dedicated core would take with one thread) per crop,
and the CPU-time ratio to ``arknet`` measured in the same run.

Usage: python benchmarks/bench_models.py [--size 256] [--channels 1] [--threads 1]
       [--repeats 3] [--models arknet xy-deblur ehnet tiny-unet]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from defocus.models import create_model, list_models


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates of one forward (convolutions and matrix products), in 1e9."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 2e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list_models())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(1, args.channels, args.size, args.size)
    models = {name: create_model(name, in_channels=args.channels).eval() for name in args.models}
    best = dict.fromkeys(models, float("inf"))
    best_cpu = dict.fromkeys(models, float("inf"))
    with torch.no_grad():
        for model in models.values():
            model(x)  # warm-up
        for _ in range(args.repeats):
            for name, model in models.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                model(x)
                best[name] = min(best[name], time.perf_counter() - start)
                best_cpu[name] = min(best_cpu[name], time.process_time() - start_cpu)
    print(
        f"forward, eval, no_grad, 1x{args.channels}x{args.size}x{args.size} float32, "
        f"{args.threads} thread(s), best of {args.repeats}"
    )
    print("model        params_C1   params_C3   wall_s   cpu_s   cpu_vs_arknet   GMAC")
    reference = best_cpu.get("arknet", float("nan"))
    for name in models:
        c1 = count(create_model(name, in_channels=1))
        c3 = count(create_model(name, in_channels=3))
        print(
            f"{name:<11} {c1:>10,} {c3:>11,} {best[name]:>8.3f} {best_cpu[name]:>7.3f} "
            f"{best_cpu[name] / reference:>15.2f} {gmacs(models[name], x):>6.1f}"
        )


if __name__ == "__main__":
    main()
