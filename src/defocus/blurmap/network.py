"""Networks that estimate a blur map, and how their raw output becomes one.

Every blur-map network maps an image ``(B, C, H, W)`` in ``[0, 1]`` to a raw map
``(B, 2, H, W)``: channel 0 is ``log(1 + r)`` of the blur radius ``r`` in pixels,
channel 1 the logit of the probability that the pixel is out of focus. The seed's
CNN, which knows only a blur level, predicts channel 0 and derives channel 1 from it.
Register one with ``@BLUR_MAP_NETWORKS.register("name")`` on its class.
"""

from __future__ import annotations

import abc
import itertools

import torch
import torch.nn.functional as F
from torch import nn

from defocus.backbones.alexnet import STAGE_CHANNELS, AlexNetTrunk
from defocus.blurmap.gradient_ratio import BlurMap
from defocus.registry import Registry

RADIUS, LOGIT = 0, 1
"""Channels of the raw output: ``log(1 + radius)`` and the defocus logit."""
CALIBRATION_KEY = "defocus_logit_calibration"
"""Safetensors metadata key of :attr:`BlurMapNetwork.calibration` (``"a,b"``)."""
IN_FOCUS_RADIUS = 1.5
"""Radius (pixels) below which a pixel counts as in focus when only radii are known."""


class BlurMapNetwork(nn.Module, abc.ABC):
    """Base class of the blur-map networks.

    Args:
        in_channels: Image channels, 1 (luma) or 3 (RGB).

    Attributes:
        multiple: Height and width the layers need to be multiples of; :meth:`forward`
            pads any other size (reflect) and crops the result.
        calibration: ``(a, b)`` applied to the defocus logit, ``a · logit + b``, by
            :meth:`forward`: a logistic recalibration fitted after training on photos
            with masks (``scripts/calibrate_blur_map.py``), stored in the weights'
            metadata under :data:`CALIBRATION_KEY`; ``(1, 0)`` while training.
        detection_side: Long side (pixels) of the photos a defocus detector was
            fine-tuned on whole (``defocus.blurmap.learned.detect_defocus``), from its
            weights' metadata; 640 (CUHK's scale) otherwise.
    """

    multiple: int = 1
    detection_side: int = 640

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.calibration: tuple[float, float] = (1.0, 0.0)

    @abc.abstractmethod
    def raw(self, image: torch.Tensor) -> torch.Tensor:
        """The raw map of an image whose sides are multiples of :attr:`multiple`."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Raw map ``(log(1 + radius), defocus logit)`` of every pixel.

        Shape:
            ``(B, C, H, W)`` -> ``(B, 2, H, W)``.
        """
        height, width = image.shape[-2:]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
        raw = self.raw(image)[..., :height, :width]
        scale, shift = self.calibration
        if (scale, shift) == (1.0, 0.0):
            return raw
        logit = raw[:, LOGIT : LOGIT + 1] * scale + shift
        return torch.cat([raw[:, :LOGIT], logit, raw[:, LOGIT + 1 :]], dim=1)


def to_blur_map(raw: torch.Tensor, scale: float = 1.0) -> BlurMap:
    """The radius (pixels) and defocus probability of a raw network output.

    Args:
        raw: Output of a :class:`BlurMapNetwork`.
        scale: Factor from the network's pixels to the image's (the image was shrunk
            by ``1 / scale`` before the network saw it).

    Shape:
        ``(B, 2, H, W)`` -> fields ``(B, 1, H, W)``.
    """
    radius = torch.expm1(raw[:, RADIUS : RADIUS + 1].float().clamp_min(0)) * scale
    return BlurMap(radius, torch.sigmoid(raw[:, LOGIT : LOGIT + 1].float()))


BLUR_MAP_NETWORKS: Registry[BlurMapNetwork] = Registry("blur-map network")
"""Registered blur-map networks (trainable with ``[model] task = "blur-map"``)."""


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, padding=1),
        nn.ReLU(inplace=True),
    )


@BLUR_MAP_NETWORKS.register("blurmap-unet")
class BlurMapUNet(BlurMapNetwork):
    """The project's estimator: a U-Net with a wide receptive field and two heads.

    Level ``k`` works at ``1 / 2^k`` of the resolution with ``widths[k]`` channels
    (two 3x3 convolutions each); the decoder upsamples bilinearly and concatenates the
    skip connection. Five levels see about 200 px around a pixel: enough to read a
    24 px blur and to judge a flat region by its surroundings.

    Args:
        in_channels: Image channels.
        widths: Channels per level, finest first.
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 48, 64, 96)):
        super().__init__(in_channels)
        widths = tuple(int(w) for w in widths)
        self.multiple = 2 ** (len(widths) - 1)
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in widths:
            self.encoders.append(_block(previous, width))
            previous = width
        self.decoders = nn.ModuleList(
            _block(wide + narrow, narrow) for narrow, wide in itertools.pairwise(widths)
        )
        self.head = nn.Conv2d(widths[0], 2, 1)

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        """Raw map of padded images.

        Shape:
            ``(B, C, H, W)`` -> ``(B, 2, H, W)``.
        """
        skips = []
        x = image
        for index in range(len(self.encoders)):
            x = self.encode(index, x)
            skips.append(x)
        return self.decode(skips)

    def encode(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Level ``index``'s encoder output from the level above's (the image at level 0)."""
        return self.encoders[index](F.max_pool2d(x, 2) if index else x)

    def decode(self, skips: list[torch.Tensor]) -> torch.Tensor:
        """The raw map from every level's encoder output, finest first."""
        x = skips[-1]
        for decoder, skip in zip(reversed(self.decoders), reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = decoder(torch.cat([x, skip], dim=1))
        return self.head(x)


CONTEXT_STAGES = {2: 0, 3: 1, 4: 4, 5: 4}
"""U-Net level -> AlexNet stage added to it (stride 4 -> stage 1, 8 -> 2, 16 and 32 -> 5)."""


@BLUR_MAP_NETWORKS.register("blurmap-unet-context")
class ContextBlurMapUNet(BlurMapUNet):
    """:class:`BlurMapUNet` that also sees what the photo shows, through ImageNet features.

    Whether a smooth region is a defocused background or a flat in-focus surface
    (skin, sky, a shirt) is often told by what it is, not by its local sharpness.
    This network adds the stages of a frozen ImageNet :class:`AlexNetTrunk` run on
    the same image to the encoder outputs of levels 2-5 (strides 4-32; see
    :data:`CONTEXT_STAGES`), each through a 1x1 convolution, bilinearly resized. The
    1x1 convolutions start at zero, so a new network computes exactly the
    :class:`BlurMapUNet` whose weights it is started from.

    Args:
        in_channels: Image channels (grey is repeated for the trunk).
        widths: Channels per level, finest first; at least six levels.

    Shape:
        ``(B, C, H, W)``, ``H, W >= 31`` -> ``(B, 2, H, W)``.
    """

    def __init__(
        self, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 48, 64, 96, 128)
    ) -> None:
        super().__init__(in_channels, widths)
        if len(self.encoders) <= max(CONTEXT_STAGES):
            raise ValueError(f"blurmap-unet-context needs {max(CONTEXT_STAGES) + 1} levels")
        self.context = AlexNetTrunk(imagenet=True).requires_grad_(False)
        self.inject = nn.ModuleDict(
            {
                str(level): nn.Conv2d(STAGE_CHANNELS[stage], int(widths[level]), 1)
                for level, stage in CONTEXT_STAGES.items()
            }
        )
        for conv in self.inject.values():
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        """Raw map of padded images.

        Shape:
            ``(B, C, H, W)`` -> ``(B, 2, H, W)``.
        """
        stages = self.context(image[:, :3])
        skips = []
        x = image
        for index in range(len(self.encoders)):
            x = self.encode(index, x)
            if index in CONTEXT_STAGES:
                stage = F.interpolate(
                    stages[CONTEXT_STAGES[index]],
                    size=x.shape[-2:],
                    mode="bilinear",
                    align_corners=False,
                )
                x = x + self.inject[str(index)](stage)
            skips.append(x)
        return self.decode(skips)


@BLUR_MAP_NETWORKS.register("gwis-cnn")
class GwisBlurCNN(BlurMapNetwork):
    """The blur-level CNN of Nasonov, Krylov & Lyukov (seed 004, §4.1), exactly.

    5x5x32, 5x5x32, 2x2 max-pool, 11x11x64, 1x1x17, 1x1x1, each convolution followed by
    a ReLU: a 31x31 receptive field, valid convolutions, one output per 2 pixels. Here
    the input is padded (replicate) by the receptive field and the output upsampled
    back to full resolution (nearest). The seed's output is the log of the best GWIS
    parameter σ; to share the blur-map contract it is read as ``log(1 + r)`` with
    ``r = 2 σ`` (the disk radius of a Gaussian's second moment; see
    :mod:`defocus.blurmap.gwis_targets`), which the final ReLU keeps non-negative
    as it must. The defocus logit follows from the radius: ``(r - 1.5) / 0.5``.

    Args:
        in_channels: Image channels (the seed uses luma).
    """

    multiple = 2

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__(in_channels)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 11),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 17, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(17, 1, 1),
            nn.ReLU(),
        )
        # start the output inside the target range (log(1 + 2σ) of σ = 0.5 ... 8 is
        # 0.7 ... 2.8): a final ReLU that starts below zero never learns
        nn.init.constant_(self.layers[-2].bias, 1.5)

    def raw(self, image: torch.Tensor) -> torch.Tensor:
        """Raw map of padded images (receptive field 31x31, centred).

        Shape:
            ``(B, C, H, W)`` -> ``(B, 2, H, W)``.
        """
        height, width = image.shape[-2:]
        padded = F.pad(image, (14, 16, 14, 16), mode="replicate")
        level = self.layers(padded)
        level = F.interpolate(level, scale_factor=2, mode="nearest")[..., :height, :width]
        radius = torch.expm1(level.clamp_min(0))
        return torch.cat([level, (radius - IN_FOCUS_RADIUS) / 0.5], dim=1)
