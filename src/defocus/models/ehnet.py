"""EHNet (Ho et al., Sensors 2024): NAFNet-style encoder, dual-attention transformer decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from defocus.models.grouped_conv import GroupedConv2d
from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, Deblurrer


class LayerNorm2d(nn.Module):
    """Layer normalisation over the channels of every pixel, with per-channel affine.

    Args:
        channels: Number of channels c.
        eps: Added to the variance.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (see the class docstring for shapes).

        Statistics are computed in at least float32, so the block is safe under mixed
        precision; the result has the dtype of ``x``.
        """
        y = x.to(torch.promote_types(x.dtype, torch.float32))
        centred = y - y.mean(dim=1, keepdim=True)
        var = centred.square().mean(dim=1, keepdim=True)
        y = centred * torch.rsqrt(var + self.eps)
        return (y * self.weight[:, None, None] + self.bias[:, None, None]).to(x.dtype)


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    """Split the channels in two halves and multiply them: :math:`(B, 2c, H, W) → (B, c, H, W)`."""
    a, b = x.chunk(2, dim=1)
    return a * b


class AdaptiveGate(nn.Module):
    """Split the channels into halves ``a, b`` and return ``a · tanh(LN(b))``.

    Args:
        channels: Channels c of each half.

    Shape:
        - Input: :math:`(B, 2c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``x`` (see the class docstring for shapes)."""
        a, b = x.chunk(2, dim=1)
        return a * torch.tanh(self.norm(b))


def layer_scale(channels: int) -> nn.Parameter:
    """A learnable per-channel scale initialised to 0 (the block starts as identity)."""
    return nn.Parameter(torch.zeros(1, channels, 1, 1))


class NAFBlock(nn.Module):
    """NAFNet-style conv block with expansion 4.

    ``y = x + β · conv(SCA(SG(dw3x3(conv1x1(LN(x))))))`` (1x1 c→4c, depthwise 3x3 at 4c,
    SimpleGate → 2c, simplified channel attention: global average → 1x1 2c→2c →
    multiply, 1x1 2c→c), then ``y + γ · conv1x1(SG(conv1x1(LN(y))))`` (c→4c, SG → 2c,
    2c→c). β and γ are per-channel and start at 0; all convolutions have biases.

    Args:
        channels: Channels c.
        expansion: Channel expansion of both halves.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int, expansion: int = 4) -> None:
        super().__init__()
        wide = expansion * channels
        self.norm1 = LayerNorm2d(channels)
        self.expand = nn.Conv2d(channels, wide, 1)
        self.depthwise = GroupedConv2d(wide, wide, 3, padding=1, groups=wide)
        self.attention = nn.Conv2d(wide // 2, wide // 2, 1)
        self.project = nn.Conv2d(wide // 2, channels, 1)
        self.norm2 = LayerNorm2d(channels)
        self.ffn_expand = nn.Conv2d(channels, wide, 1)
        self.ffn_project = nn.Conv2d(wide // 2, channels, 1)
        self.beta = layer_scale(channels)
        self.gamma = layer_scale(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block (see the class docstring for shapes)."""
        z = simple_gate(self.depthwise(self.expand(self.norm1(x))))
        z = z * self.attention(z.mean(dim=(2, 3), keepdim=True))
        y = x + self.beta * self.project(z)
        z = self.ffn_project(simple_gate(self.ffn_expand(self.norm2(y))))
        return y + self.gamma * z


class MHTA(nn.Module):
    """Multi-head transposed attention: self-attention across channels.

    q, k, v come from one 3x3 depthwise convolution (c→3c, groups c, no bias); per head
    q and k are L2-normalised over the pixels, ``softmax(q kᵀ · temperature)``
    (c/heads x c/heads) is applied to v, and a 1x1 convolution (no bias) projects
    back. The temperature is learnable per head (init 1).

    Args:
        channels: Channels c (divisible by ``heads``).
        heads: Number of heads.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int, heads: int = 8) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = GroupedConv2d(channels, 3 * channels, 3, padding=1, groups=channels, bias=False)
        self.project = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend (see the class docstring for shapes)."""
        batch, channels, height, width = x.shape
        q, k, v = (
            t.reshape(batch, self.heads, channels // self.heads, height * width)
            for t in self.qkv(x).chunk(3, dim=1)
        )
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attention = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)
        return self.project((attention @ v).reshape(batch, channels, height, width))


def window_partition(x: torch.Tensor, size: int) -> torch.Tensor:
    """Cut ``x`` into non-overlapping ``size`` x ``size`` windows of tokens.

    Shape:
        - x: :math:`(B, c, H, W)` with H and W multiples of ``size``.
        - Output: :math:`(B N, s^2, c)` with N = HW / s² windows per image.
    """
    batch, channels, height, width = x.shape
    x = x.reshape(batch, channels, height // size, size, width // size, size)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(-1, size * size, channels)


def window_merge(
    windows: torch.Tensor, size: int, batch: int, height: int, width: int
) -> torch.Tensor:
    """Inverse of :func:`window_partition`.

    Shape:
        - windows: :math:`(B N, s^2, c)` with N = HW / s² windows per image.
        - Output: :math:`(B, c, H, W)`.
    """
    channels = windows.shape[-1]
    x = windows.reshape(batch, height // size, width // size, size, size, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(batch, channels, height, width)


class MWSA(nn.Module):
    """Multi-window self-attention with shifted windows of several sizes.

    A 3x3 depthwise convolution (c→3c, groups c, no bias) makes three groups of c
    channels. Group i is cyclically shifted by half a window (``-s/2`` on both axes, no
    mask), cut into ``s_i`` x ``s_i`` windows, and split into q (first c/2 channels) and
    v (last c/2); keys equal queries and there is no scaling: ``softmax(q qᵀ) v``.
    The windows are merged, shifted back, the three groups concatenated (3c/2
    channels) and a 1x1 convolution (no bias) maps them to c.

    Args:
        channels: Channels c (even).
        window_sizes: Window side per group; H and W must be multiples of each.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int, window_sizes: tuple[int, ...] = (4, 8, 16)) -> None:
        super().__init__()
        self.window_sizes = window_sizes
        groups = len(window_sizes)
        self.qv = GroupedConv2d(
            channels, groups * channels, 3, padding=1, groups=channels, bias=False
        )
        self.project = nn.Conv2d(groups * channels // 2, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend (see the class docstring for shapes)."""
        batch, _, height, width = x.shape
        outputs = []
        for size, group in zip(
            self.window_sizes, self.qv(x).chunk(len(self.window_sizes), 1), strict=True
        ):
            shift = size // 2
            tokens = window_partition(torch.roll(group, (-shift, -shift), (2, 3)), size)
            q, v = tokens.chunk(2, dim=-1)
            attended = (q @ q.transpose(-2, -1)).softmax(dim=-1) @ v
            merged = window_merge(attended, size, batch, height, width)
            outputs.append(torch.roll(merged, (shift, shift), (2, 3)))
        return self.project(torch.cat(outputs, dim=1))


class DualAttentionBlock(nn.Module):
    """EHNet transformer block with a local (channel) and a global (window) branch.

    ``LN → 1x1 (c→2c) → split x1, x2``. Local: ``x1 = 1x1(gate(grouped3x3(1x1(x1))))``
    (grouped 3x3 c→2c with c groups, gate ``a · tanh(LN(b))``), then
    ``x1 = x1 + α · MHTA(x1)``. Global: ``x2 = MWSA(x2)``. ``y = x1 + β · x2 + input``,
    then ``y + γ · 1x1(gate(1x1(LN(y))))`` (c→2c, gate → c, c→c). α, β, γ are
    per-channel, init 0. The feed-forward reuses the local branch's adaptive gate
    (one LayerNorm of c channels per block), as the authors' network does; this is
    what gives the published parameter count.

    Args:
        channels: Channels c (divisible by 8 for the 8 MHTA heads).

    Shape:
        - Input: :math:`(B, c, H, W)`, H and W multiples of 16.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.norm1 = LayerNorm2d(c)
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.local_in = nn.Conv2d(c, c, 1)
        self.local_conv = GroupedConv2d(c, 2 * c, 3, padding=1, groups=c)
        self.gate = AdaptiveGate(c)
        self.local_out = nn.Conv2d(c, c, 1)
        self.channel_attention = MHTA(c)
        self.window_attention = MWSA(c)
        self.norm2 = LayerNorm2d(c)
        self.ffn_expand = nn.Conv2d(c, 2 * c, 1)
        self.ffn_project = nn.Conv2d(c, c, 1)
        self.alpha = layer_scale(c)
        self.beta = layer_scale(c)
        self.gamma = layer_scale(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block (see the class docstring for shapes)."""
        x1, x2 = self.expand(self.norm1(x)).chunk(2, dim=1)
        x1 = self.local_out(self.gate(self.local_conv(self.local_in(x1))))
        x1 = x1 + self.alpha * self.channel_attention(x1)
        y = x1 + self.beta * self.window_attention(x2) + x
        z = self.ffn_project(self.gate(self.ffn_expand(self.norm2(y))))
        return y + self.gamma * z


class SkipFusion(nn.Module):
    """Fuse the up-sampled decoder features with the encoder skip.

    1x1 conv (2c→2c) on ``concat(up, skip)`` → :class:`DualAttentionBlock` (2c) → 1x1
    conv (2c→2c) → split into two halves → sum.

    Args:
        channels: Channels c of each input.

    Shape:
        - up, skip: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix_in = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.block = DualAttentionBlock(2 * channels)
        self.mix_out = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, up: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Fuse (see the class docstring for shapes)."""
        fused = self.mix_out(self.block(self.mix_in(torch.cat([up, skip], dim=1))))
        first, second = fused.chunk(2, dim=1)
        return first + second


@MODELS.register("ehnet")
class EHNet(Deblurrer):
    """EHNet: 8,779,923 parameters for C = 3 (8,778,193 for C = 1).

    Architecture (width 48):
        - Head 3x3 conv C→48; tail 3x3 conv 48→C; global residual.
        - Encoder: 2 levels of :class:`NAFBlock` s (6 at 48, 6 at 96 channels);
          down-sampling = bilinear x0.5 then 3x3 conv without bias doubling channels.
        - Middle at 192 channels: 6 :class:`NAFBlock` s then 6 :class:`DualAttentionBlock` s.
        - Decoder: up-sampling = bilinear x2 then 3x3 conv without bias halving channels,
          :class:`SkipFusion` with the encoder skip, then dual-attention blocks (6 at 96,
          10 at 48 channels).

        Inputs are reflect-padded (replicate if too small) to a multiple of 64 (the
        16-pixel windows at 1/4 resolution) and the output is cropped back.

    Args:
        in_channels: Image channels C (1 or 3).
        width: Channels at full resolution.
        encoder_blocks: Conv blocks per encoder level.
        middle_blocks: Conv blocks and then transformer blocks in the middle.
        decoder_blocks: Transformer blocks per decoder level (deepest first).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W (``multiple``: see
        :class:`~defocus.models.protocol.Deblurrer`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 48,
        encoder_blocks: tuple[int, ...] = (6, 6),
        middle_blocks: tuple[int, int] = (6, 6),
        decoder_blocks: tuple[int, ...] = (6, 10),
    ) -> None:
        super().__init__(in_channels, multiple=16 * 2 ** len(encoder_blocks))
        if len(encoder_blocks) != len(decoder_blocks):
            raise ValueError("encoder_blocks and decoder_blocks need the same length")
        self.head = nn.Conv2d(in_channels, width, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        c = width
        for count in encoder_blocks:
            self.encoders.append(nn.Sequential(*(NAFBlock(c) for _ in range(count))))
            self.downs.append(nn.Conv2d(c, 2 * c, 3, padding=1, bias=False))
            c *= 2
        convs, transformers = middle_blocks
        self.middle = nn.Sequential(
            *(NAFBlock(c) for _ in range(convs)),
            *(DualAttentionBlock(c) for _ in range(transformers)),
        )
        self.ups = nn.ModuleList()
        self.fusions = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for count in decoder_blocks:
            self.ups.append(nn.Conv2d(c, c // 2, 3, padding=1, bias=False))
            c //= 2
            self.fusions.append(SkipFusion(c))
            self.decoders.append(nn.Sequential(*(DualAttentionBlock(c) for _ in range(count))))
        self.tail = nn.Conv2d(width, in_channels, 3, padding=1)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            features = encoder(features)
            skips.append(features)
            features = down(F.interpolate(features, scale_factor=0.5, mode="bilinear"))
        features = self.middle(features)
        for up, fusion, decoder, skip in zip(
            self.ups, self.fusions, self.decoders, reversed(skips), strict=True
        ):
            upsampled = F.interpolate(features, scale_factor=2.0, mode="bilinear")
            features = decoder(fusion(up(upsampled), skip))
        return x + self.tail(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deblur ``x`` (see the class docstring for shapes)."""
        return run_padded(self._body, x, self.multiple)
