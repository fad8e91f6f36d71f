"""A tiny two-level U-Net (a few thousand parameters) for tests and smoke runs."""

from __future__ import annotations

import torch
from torch import nn

from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, Deblurrer


@MODELS.register("tiny-unet")
class TinyUNet(Deblurrer):
    """Two-level U-Net with a global residual, small enough to train in seconds on a CPU.

    Architecture: 3x3 conv (C→w) + GELU → 3x3 stride-2 conv (w→2w) + GELU → 3x3 conv
    (2w→2w) + GELU → 2x2 stride-2 transposed conv (2w→w) → concat skip → 3x3 conv (2w→w)
    + GELU → 3x3 conv (w→C); ``out = input + net(input)``. Inputs are padded to a
    multiple of 2 and cropped back. With the default ``width = 8``: 5,321 parameters
    for C = 1 and 5,611 for C = 3.

    Args:
        in_channels: Image channels C.
        width: Channels at full resolution.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W (``multiple``: see
        :class:`~defocus.models.protocol.Deblurrer`).
    """

    def __init__(self, in_channels: int = 1, width: int = 8) -> None:
        super().__init__(in_channels, multiple=2)
        self.head = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.GELU())
        self.down = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.GELU(),
        )
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.fuse = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.GELU())
        self.output = nn.Conv2d(width, in_channels, 3, padding=1)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.head(x)
        features = self.up(self.down(skip))
        return x + self.output(self.fuse(torch.cat([features, skip], dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deblur ``x`` (see the class docstring for shapes)."""
        return run_padded(self._body, x, self.multiple)
