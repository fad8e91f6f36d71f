"""Grouped convolutions that keep float32 under CPU autocast, where bfloat16 is slower."""

from __future__ import annotations

import torch
from torch import nn


class GroupedConv2d(nn.Conv2d):
    """A grouped (e.g. depthwise) ``nn.Conv2d`` that runs in float32 under CPU autocast.

    oneDNN has no fast bfloat16 kernel for grouped convolutions on CPU: on a CPU with
    AMX and AVX-512 BF16, forward + backward of a 48→144 channel, 48-group 3x3
    convolution on 2x64² takes 22.9 ms in bfloat16 against 12.7 ms in float32, so an
    autocast training step of EHNet was slower than its float32 step
    (``benchmarks/bench_grouped_conv.py``). These layers do few FLOPs, so float32
    costs nothing elsewhere. Outside CPU autocast (float32, CUDA) it is an ordinary
    ``nn.Conv2d``; the parameters and state-dict keys are the same.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`.
        - Output: :math:`(B, C_{out}, H', W')`, float32 under CPU autocast.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve, in float32 when CPU autocast is on."""
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)
