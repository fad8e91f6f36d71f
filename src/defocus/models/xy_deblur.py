"""XY-Deblur (Ji et al., CVPR 2022): one encoder, one decoder shared by two rotated branches."""

from __future__ import annotations

import torch
from torch import nn

from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, Deblurrer


class ResBlock(nn.Module):
    """conv3x3 → ReLU → conv3x3 plus identity, no normalisation.

    Args:
        channels: Input and output channels.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block (see the class docstring for shapes)."""
        return x + self.body(x)


def res_stage(channels: int, depth: int) -> nn.Sequential:
    """``depth`` :class:`ResBlock` s at ``channels`` channels."""
    return nn.Sequential(*(ResBlock(channels) for _ in range(depth)))


def conv_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Convolution with bias ('same' padding for stride 1) followed by ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2),
        nn.ReLU(inplace=True),
    )


def up_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """4x4 stride-2 transposed convolution (exact x2 up-sampling) followed by ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1),
        nn.ReLU(inplace=True),
    )


class XYDecoder(nn.Module):
    """The decoder of XY-Deblur, applied once per branch with the same weights.

    Args:
        out_channels: Image channels C.
        widths: Channels of encoder levels 1, 2, 3.
        depth: Residual blocks per level.

    Shape:
        - deep: :math:`(B, w_3, H/4, W/4)`; skip2: :math:`(B, w_2, H/2, W/2)`;
          skip1: :math:`(B, w_1, H, W)`.
        - Output: :math:`(B, C, H, W)`.
    """

    def __init__(self, out_channels: int, widths: tuple[int, int, int], depth: int) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.level3 = nn.Sequential(res_stage(w3, depth), up_relu(w3, w2))
        self.fuse2 = conv_relu(2 * w2, w2, 1)
        self.level2 = nn.Sequential(res_stage(w2, depth), up_relu(w2, w1))
        self.fuse1 = conv_relu(2 * w1, w1, 1)
        self.level1 = nn.Sequential(res_stage(w1, depth), nn.Conv2d(w1, out_channels, 3, padding=1))

    def forward(self, deep: torch.Tensor, skip2: torch.Tensor, skip1: torch.Tensor) -> torch.Tensor:
        """Decode the features (see the class docstring for shapes)."""
        x = self.fuse2(torch.cat([self.level3(deep), skip2], dim=1))
        x = self.fuse1(torch.cat([self.level2(x), skip1], dim=1))
        return self.level1(x)


@MODELS.register("xy-deblur")
class XYDeblur(Deblurrer):
    """XY-Deblur: 4,918,627 parameters for C = 3 (4,917,473 for C = 1).

    Architecture:
        - Encoder, 3 levels of 32 / 64 / 128 channels. Level 1: 3x3 conv (C→32) + ReLU,
          then 6 residual blocks (conv3x3 → ReLU → conv3x3, plus identity, no
          normalisation); levels 2 and 3: 3x3 stride-2 conv + ReLU, then 6 residual
          blocks.
        - One :class:`XYDecoder` whose weights are used twice: 6 res-blocks(128) →
          4x4 stride-2 transposed conv 128→64 + ReLU → concat level-2 skip → 1x1 conv +
          ReLU 128→64 → 6 res-blocks(64) → transposed conv 64→32 + ReLU → concat
          level-1 skip → 1x1 conv + ReLU 64→32 → 6 res-blocks(32) → 3x3 conv 32→C.
        - Branch 1 decodes the features as they are; branch 2 rotates the deepest
          feature and both skips by 90° (``torch.rot90(x, 1, (2, 3))``), decodes them
          with the same decoder and rotates the result back (``k = -1``), so the
          shared kernels see horizontal structure in one branch and vertical in the
          other.
        - Output ``out1 + out2 + input``; only this sum is returned.

        The spec leaves the activations after the encoder's first / stride-2 convs and
        after the transposed convs open; like the authors' network they are ReLUs
        (no parameters, so the count is unaffected). Inputs are reflect-padded to a
        multiple of 4 and the output is cropped back.

    Args:
        in_channels: Image channels C (1 or 3).
        widths: Channels of the three levels.
        depth: Residual blocks per level (encoder and decoder).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W (``multiple``: see
        :class:`~defocus.models.protocol.Deblurrer`).
    """

    def __init__(
        self, in_channels: int = 3, widths: tuple[int, int, int] = (32, 64, 128), depth: int = 6
    ) -> None:
        super().__init__(in_channels, multiple=4)
        w1, w2, w3 = widths
        self.encoder1 = nn.Sequential(conv_relu(in_channels, w1, 3), res_stage(w1, depth))
        self.encoder2 = nn.Sequential(conv_relu(w1, w2, 3, stride=2), res_stage(w2, depth))
        self.encoder3 = nn.Sequential(conv_relu(w2, w3, 3, stride=2), res_stage(w3, depth))
        self.decoder = XYDecoder(in_channels, widths, depth)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.encoder1(x)
        skip2 = self.encoder2(skip1)
        deep = self.encoder3(skip2)
        out1 = self.decoder(deep, skip2, skip1)
        rotated = (torch.rot90(t, 1, (2, 3)) for t in (deep, skip2, skip1))
        out2 = torch.rot90(self.decoder(*rotated), -1, (2, 3))
        return out1 + out2 + x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deblur ``x`` (see the class docstring for shapes)."""
        return run_padded(self._body, x, self.multiple)
