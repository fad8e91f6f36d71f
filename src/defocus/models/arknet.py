"""ARKNet: the U-Net of the MMSP 2024 sharpness-loss paper (Aurangabadkar et al.)."""

from __future__ import annotations

import torch
from torch import nn

from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, Deblurrer


class ConvBlock(nn.Sequential):
    """3x3 convolution without bias (He-normal init) → BatchNorm → GELU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`.
        - Output: :math:`(B, C_{out}, H, W)`.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        super().__init__(conv, nn.BatchNorm2d(out_channels), nn.GELU())


def conv_stage(in_channels: int, out_channels: int, depth: int) -> nn.Sequential:
    """``depth`` conv blocks, the first mapping ``in_channels`` to ``out_channels``."""
    return nn.Sequential(
        *(ConvBlock(in_channels if i == 0 else out_channels, out_channels) for i in range(depth))
    )


@MODELS.register("arknet")
class ARKNet(Deblurrer):
    """U-Net deblurring network of the MMSP 2024 paper (about 4.89 M parameters for C = 1).

    Architecture:
        - Encoder: 4 levels with ``widths`` = 16, 32, 64, 128 filters, each level
          ``depth`` = 5 :class:`ConvBlock` s (3x3 conv without bias → BatchNorm → GELU),
          2x2 max-pool between levels.
        - Bridge: 5 conv blocks with 256 filters.
        - Decoder: 4 levels (128, 64, 32, 16): 2x2 stride-2 transposed convolution with
          bias → concatenation with the encoder skip → 5 conv blocks.
        - Output: linear 1x1 convolution; global residual ``out = input + net(input)``.

        With C = 1 the network has 4,891,217 trainable parameters (BatchNorm running
        statistics are buffers and not counted). Inputs are padded to a multiple of 16
        (reflect) and the output is cropped back, so any size works.

    Args:
        in_channels: Image channels C (1 for luma, 3 for RGB).
        widths: Filters per encoder level; the bridge has twice the last one.
        depth: Conv blocks per level.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W (``multiple``: see
        :class:`~defocus.models.protocol.Deblurrer`).
    """

    def __init__(
        self, in_channels: int = 1, widths: tuple[int, ...] = (16, 32, 64, 128), depth: int = 5
    ) -> None:
        super().__init__(in_channels, multiple=2 ** len(widths))
        self.encoders = nn.ModuleList()
        channels = in_channels
        for width in widths:
            self.encoders.append(conv_stage(channels, width, depth))
            channels = width
        self.pool = nn.MaxPool2d(2)
        self.bridge = conv_stage(channels, 2 * channels, depth)
        channels *= 2
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for width in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(channels, width, 2, stride=2))
            self.decoders.append(conv_stage(2 * width, width, depth))
            channels = width
        self.output = nn.Conv2d(channels, in_channels, 1)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        features = x
        for encoder in self.encoders:
            features = encoder(features)
            skips.append(features)
            features = self.pool(features)
        features = self.bridge(features)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            features = decoder(torch.cat([up(features), skip], dim=1))
        return x + self.output(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deblur ``x`` (see the class docstring for shapes)."""
        return run_padded(self._body, x, self.multiple)
