"""Peak resident memory of the default model per phase of one restoration.

Samples the process's resident set every 20 ms while ``defocus.infer.deblur`` restores
a smooth synthetic RGB photo of ``--width x --height`` with the default model, and
reports the peak within each phase: the blur map, the radius bank and the global bank
of ``prepare`` (``prepare`` itself: the rest of it, e.g. writing the hints), the
tiled fusion U-Net, and the rest (``input``: reading the photo and assembling the
output). It shows where the 24-megapixel peak comes from.

    python benchmarks/bench_memory_phases.py --width 6000 --height 4000
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import defocus.models.varying_unet as varying
from defocus.infer import deblur

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


class Phases:
    """The current phase's name and the peak resident memory seen in each phase."""

    def __init__(self) -> None:
        self.name = "start"
        self.peaks: dict[str, float] = {}
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.peaks[self.name] = max(self.peaks.get(self.name, 0.0), resident_mb())
            time.sleep(0.02)

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        function: Callable[..., Any] = getattr(owner, attribute)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            outer, self.name = self.name, label
            try:
                return function(*args, **kwargs)
            finally:
                self.name = outer

        setattr(owner, attribute, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args()
    phases = Phases()
    phases.wrap(varying.VaryingWienerUNet, "prepare", "prepare")
    phases.wrap(varying.VaryingWienerUNet, "blur_maps", "blur map")
    phases.wrap(varying, "wiener_bank", "radius bank")
    phases.wrap(varying.WienerBank, "forward", "global bank")
    phases.wrap(varying.VaryingWienerUNet, "fuse", "fusion U-Net")
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.random((1, 3, args.height // 16, args.width // 16)))
    smooth = F.interpolate(coarse.float(), size=(args.height, args.width), mode="bilinear")
    photo = (smooth[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    del coarse, smooth
    phases.name = "input"
    start = time.perf_counter()
    deblur(photo)
    phases.name = "done"
    time.sleep(0.1)
    print(f"{args.width}x{args.height}, {time.perf_counter() - start:.1f} s")
    for name, peak in phases.peaks.items():
        print(f"{name:<16} {peak:8.0f} MB")


if __name__ == "__main__":
    main()
