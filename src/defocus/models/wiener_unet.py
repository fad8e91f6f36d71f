"""WienerUNet: blind GCV blur estimate, Wiener candidates around it, U-Net fusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from functools import partial

import torch
from torch import nn

from defocus.classical.blind import DISK_RADII, BlurEstimate, estimate_disk_blur
from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, TwoStageDeblurrer
from defocus.models.wiener_bank import WienerBank

HALF = (torch.float16, torch.bfloat16)


def conv_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (``stride``) followed by ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.ReLU(inplace=True)
    )


class FusionUNet(nn.Module):
    """Three-level U-Net (two 3x3 convs per level, strided-conv down, transposed-conv up).

    Args:
        in_channels: Input feature channels.
        out_channels: Output channels (linear).
        widths: Channels at full, half and quarter resolution.

    Shape:
        ``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of 4.
    """

    def __init__(self, in_channels: int, out_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.enc0 = nn.Sequential(conv_relu(in_channels, w0), conv_relu(w0, w0))
        self.enc1 = nn.Sequential(conv_relu(w0, w1, stride=2), conv_relu(w1, w1))
        self.bottom = nn.Sequential(
            conv_relu(w1, w2, stride=2), conv_relu(w2, w2), conv_relu(w2, w2)
        )
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = nn.Sequential(conv_relu(2 * w1, w1), conv_relu(w1, w1))
        self.up0 = nn.ConvTranspose2d(w1, w0, 2, stride=2)
        self.dec0 = nn.Sequential(conv_relu(2 * w0, w0), conv_relu(w0, w0))
        self.head = nn.Conv2d(w0, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map features to outputs (see the class docstring for shapes)."""
        skip0 = self.enc0(x)
        skip1 = self.enc1(skip0)
        up1 = self.dec1(torch.cat([self.up1(self.bottom(skip1)), skip1], dim=1))
        return self.head(self.dec0(torch.cat([self.up0(up1), skip0], dim=1)))


def per_channel(blur: BlurEstimate, batch: int, channels: int) -> BlurEstimate:
    """Each image's estimate repeated for its channels (one estimate may serve all images).

    Raises:
        ValueError: If ``blur`` has neither ``batch`` entries nor 1.

    Shape:
        fields ``(batch,)`` or ``(1,)`` -> ``(batch · channels,)``.
    """
    if len(blur.index) == batch:
        return BlurEstimate(*(t.repeat_interleave(channels) for t in astuple(blur)))
    if len(blur.index) == 1:
        return BlurEstimate(*(t.expand(batch * channels) for t in astuple(blur)))
    raise ValueError(f"blur estimate has {len(blur.index)} entries for {batch} images")


def fuse_candidates(
    fusion: nn.Module, candidates: torch.Tensor, hints: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-pixel softmax mixture of candidate images plus a residual, predicted by ``fusion``.

    ``fusion`` sees the first image ``y`` (the blurry input), every other candidate's
    difference from it and the optional ``hints`` (e.g. a blur map), and returns one
    logit per candidate and a residual: ``out = Σ_j softmax(a)_j · v_j + r``.

    Shape:
        ``candidates (N, K, H, W)``, ``hints (N, F, H, W)`` -> ``(N, 1, H, W)`` in
        ``candidates``' dtype (the mixture is not done in an autocast's half precision:
        bfloat16 weights would cost ~1/256 of the output).
    """
    y = candidates[:, :1]
    parts = [y, candidates[:, 1:] - y] + ([] if hints is None else [hints.to(y.dtype)])
    inputs = torch.cat(parts, dim=1)
    if torch.is_autocast_enabled(inputs.device.type):  # half precision: NHWC is 2x faster
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    out = fusion(inputs).to(candidates.dtype)
    weights = out[:, :-1].softmax(dim=1)
    return (weights * candidates).sum(dim=1, keepdim=True) + out[:, -1:]


@MODELS.register("wiener-unet")
class WienerUNet(TwoStageDeblurrer):
    """Blind defocus removal: GCV blur estimate, Wiener candidates around it, U-Net fusion.

    Architecture: the disk radius and Wiener balance of each image are estimated by
    generalised cross-validation (:func:`defocus.classical.blind.estimate_disk_blur`, on
    the channels' mean; not learned). :class:`~defocus.models.wiener_bank.WienerBank`
    makes ``N = 15`` Wiener–Hunt deconvolutions around the estimate (radius −0.5 … +0.5 px
    in 0.25 px steps, balance x0.25, x1, x4). A :class:`FusionUNet` sees the blurry image
    and the candidates' differences from it and predicts, per pixel, softmax weights over
    the ``N + 1`` images (blurry included) plus a residual:
    ``out = Σ_j softmax(a)_j · v_j + r``. Every channel is restored alone with the image's
    estimate, so one set of weights serves luma and RGB. Inputs are padded to a multiple
    of 4 (reflect) and cropped back. With the defaults: 622,737 parameters.

    The work is split into a global stage without parameters, :meth:`prepare` (estimate
    and candidates, on the whole image), and a local one, :meth:`fuse` (the U-Net), which
    :func:`defocus.infer.deblur` tiles; ``context`` is the margin of image a tile of
    :meth:`fuse` needs around it to match the whole image.

    Args:
        in_channels: Image channels C (1 or 3; each is restored independently).
        radii: Radius table of the blur estimate, pixels.
        offsets: Table steps of the candidates around the estimated radius.
        factors: Multiples of the estimated balance used by the candidates.
        widths: U-Net channels at full, half and quarter resolution.

    Attributes:
        multiple: Inputs are padded so that H and W are multiples of this.
        context: Pixels of features read around each tile of :meth:`fuse` in tiled
            inference (beyond its receptive field's effective reach).
        min_radius: Estimated disk radii (pixels) below this mean "no defocus
            detected": the image is returned unchanged. The network is trained on radii
            from 1 px and, given a sharp photo, over-sharpens it (a sharp Kodak photo
            with noise σ = 0.01: 40.0 dB in, 28.3 dB out without this rule).

    Shape:
        - Input: :math:`(B, C, H, W)`, any H and W; ``blur`` with B entries or 1.
        - Output: :math:`(B, C, H, W)`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        radii: Sequence[float] = DISK_RADII,
        offsets: Sequence[int] = (-2, -1, 0, 1, 2),
        factors: Sequence[float] = (0.25, 1.0, 4.0),
        widths: Sequence[int] = (32, 64, 128),
    ) -> None:
        super().__init__(in_channels, multiple=4, context=32)
        self.min_radius = 1.0
        self.radii = tuple(radii)
        self.bank = WienerBank(radii, offsets, factors)
        images = self.bank.candidates + 1
        self.fusion = FusionUNet(images, images + 1, widths)

    def estimate(self, x: torch.Tensor) -> BlurEstimate:
        """Blur estimate of each image (see :func:`~defocus.classical.blind.estimate_disk_blur`).

        Shape:
            ``(B, C, H, W)`` -> fields ``(B,)``.
        """
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            return estimate_disk_blur(x.detach(), self.radii)

    def prepare(
        self, x: torch.Tensor, blur: BlurEstimate | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """The whole-image stage: blur estimate and Wiener candidates (no parameters).

        Wiener deconvolution is global (a pixel's result depends on far-away pixels), so
        tiled inference computes this once on the whole image and tiles only
        :meth:`fuse` (see :func:`defocus.infer.deblur`). Images whose estimated radius
        is below :attr:`min_radius` are marked "no defocus detected" and get no
        candidates (:meth:`fuse` returns them unchanged).

        Args:
            x: Blurry images.
            blur: Their estimate (default: :meth:`estimate` of ``x``), with B entries or 1.
            dtype: Storage type of the result (``torch.float16`` halves it for large
                images; about 1e-4 of rounding).

        Returns:
            Per image and channel ``c``, ``2 + N`` channels from ``c · (2 + N)``: a flag
            (1 = restore, 0 = leave unchanged, constant over the image), the channel
            itself, then its ``N`` candidates (copies of the channel when the flag is 0).

        Shape:
            ``(B, C, H, W) -> (B, C · (2 + N), H, W)``.
        """
        batch, channels, height, width = x.shape
        blur = per_channel(self.estimate(x) if blur is None else blur, batch, channels)
        # full precision even under mixed-precision training: the Wiener division is
        # ill-conditioned where the blur's spectrum vanishes
        with torch.autocast(x.device.type, enabled=False):
            y = x.reshape(batch * channels, 1, height, width)
            y = y.float() if y.dtype in HALF else y
            active = blur.radius >= self.min_radius
            features = y.new_empty((len(y), 2 + self.bank.candidates, height, width), dtype=dtype)
            features[:, 0] = active.to(features.dtype)[:, None, None]
            features[~active, 1:] = y[~active].to(features.dtype)
            if active.all():  # the usual case: write straight into the buffer, no copies
                self.bank(y, blur, features.dtype, features[:, 1:])
            elif active.any():
                chosen = BlurEstimate(*(t[active] for t in astuple(blur)))
                features[active, 1:] = self.bank(y[active], chosen, features.dtype)
        return features.reshape(batch, -1, height, width)

    def fuse(self, features: torch.Tensor) -> torch.Tensor:
        """The local stage: per-pixel fusion of :meth:`prepare`'s output by the U-Net.

        Images flagged "no defocus detected" are returned unchanged.

        Shape:
            ``(B, C · (2 + N), H, W) -> (B, C, H, W)`` in the parameters' dtype.
        """
        batch, _, height, width = features.shape
        dtype = next(self.parameters()).dtype
        items = features.reshape(-1, 2 + self.bank.candidates, height, width)
        active = items[:, 0, 0, 0] > 0.5
        candidates = items[:, 1:].to(dtype)
        restored = candidates[:, :1].clone()
        if active.any():
            restored[active] = run_padded(
                partial(fuse_candidates, self.fusion), candidates[active], self.multiple
            )
        return restored.reshape(batch, -1, height, width)

    def forward(self, x: torch.Tensor, blur: BlurEstimate | None = None) -> torch.Tensor:
        """Deblur ``x``: :meth:`fuse` of :meth:`prepare` (see the class docstring)."""
        return self.fuse(self.prepare(x, blur))
