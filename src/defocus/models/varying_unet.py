"""VaryingWienerUNet: per-pixel blur map, local and global Wiener candidates, U-Net fusion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple

import torch
import torch.nn.functional as F

from defocus.blurmap.learned import SHIPPED_ESTIMATOR, learned_blur_map
from defocus.classical.blind import DISK_RADII, BlurEstimate, estimate_disk_blur
from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, TwoStageDeblurrer
from defocus.models.varying_bank import LEVEL_RADII, PSF_SHAPES, VaryingWienerBank
from defocus.models.wiener_bank import WienerBank
from defocus.models.wiener_unet import HALF, FusionUNet, fuse_candidates

HINTS = 2
"""Feature channels after the candidates: the radius map (``log(1 + r) / log(1 + r_max)``)
and the defocus probability."""
MAP_MAX_PIXELS = 6_000_000
"""Largest image on which the blur map is estimated at full resolution; larger ones are
estimated at 1/2, 1/4, ... of their size (area-averaged), the radius scaled back up, so
the estimator's memory stays bounded (a 24 MP photo's map is made at 6 MP)."""


@MODELS.register("varying-wiener-unet")
class VaryingWienerUNet(TwoStageDeblurrer):
    """Spatially varying defocus removal: a blur map, Wiener candidates per pixel, U-Net fusion.

    Architecture (no switch: every image goes through the same path):

    1. **Blur map** (not learned here): the radius ``r(x)`` and defocus probability
       ``p(x)`` of every pixel from the shipped estimator
       (:func:`defocus.blurmap.learned_blur_map`); the local radius is ``ρ = p · r``,
       so pixels the estimator believes in focus get radius 0.
    2. **Local candidates**: :class:`~defocus.models.varying_bank.VaryingWienerBank`,
       Wiener deconvolutions at ``m · ρ(x)`` per pixel for disk and Gaussian PSFs,
       multipliers ``m`` and fixed balances. Where ``ρ = 0`` they equal the input.
    3. **Global candidates**: as :class:`~defocus.models.wiener_unet.WienerUNet`, the
       15 Wiener deconvolutions around the image's GCV disk estimate (exact where the
       blur is uniform, e.g. a missed focus on a flat subject).
    4. **Fusion**: a :class:`~defocus.models.wiener_unet.FusionUNet` sees the input, the
       candidates' differences from it and the two maps, and mixes the input and the
       candidates per pixel (softmax) plus a residual
       (:func:`~defocus.models.wiener_unet.fuse_candidates`).

    Its first 16 inputs and 17 outputs are laid out as WienerUNet's, so WienerUNet's
    fusion weights can start it (``scripts/warm_start_varying.py``).

    Args:
        in_channels: Image channels C (1 or 3; each is restored alone, one blur map
            for all).
        radii: Radius table of the global estimate, pixels.
        offsets: Table steps of the global candidates around the estimate.
        factors: Multiples of the estimated balance of the global candidates.
        levels: Radii of the local bank's levels.
        shapes: PSF shapes of the local bank.
        multipliers: Factors of the local radius.
        balances: Balances of the local bank.
        widths: U-Net channels at full, half and quarter resolution.
        estimator: Blur-map weights (a shipped name or a safetensors path).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W.
    """

    def __init__(
        self,
        in_channels: int = 1,
        radii: Sequence[float] = DISK_RADII,
        offsets: Sequence[int] = (-2, -1, 0, 1, 2),
        factors: Sequence[float] = (0.25, 1.0, 4.0),
        levels: Sequence[float] = LEVEL_RADII,
        shapes: Sequence[str] = PSF_SHAPES,
        multipliers: Sequence[float] = (0.7, 1.0, 1.4),
        balances: Sequence[float] = (2e-3, 2e-2),
        widths: Sequence[int] = (32, 64, 128),
        estimator: str = SHIPPED_ESTIMATOR,
    ) -> None:
        super().__init__(in_channels, multiple=4, context=32)
        self.radii, self.estimator = tuple(radii), str(estimator)
        self.global_bank = WienerBank(radii, offsets, factors)
        self.local_bank = VaryingWienerBank(levels, shapes, multipliers, balances)
        self.images = 1 + self.global_bank.candidates + self.local_bank.candidates
        self.fusion = FusionUNet(self.images + HINTS, self.images + 1, widths)

    def blur_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The local radius ``ρ = p · r`` and the probability ``p`` of every pixel.

        Images over :data:`MAP_MAX_PIXELS` are estimated at a power-of-two fraction
        of their size.

        Shape:
            ``(B, C, H, W)`` -> both ``(B, 1, H, W)`` float32.
        """
        height, width = x.shape[-2:]
        factor = 1
        while height * width > MAP_MAX_PIXELS * factor**2:
            factor *= 2
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            image = x.detach().float().clamp(0, 1)
            if factor > 1:
                image = F.avg_pool2d(image, factor, ceil_mode=True)
            maps = learned_blur_map(image, self.estimator)
            del image
            radius, probability = maps.radius.to(x.device), maps.probability.to(x.device)
            if factor > 1:
                radius, probability = (
                    F.interpolate(m, size=(height, width), mode="bilinear", align_corners=False)
                    for m in (radius * factor, probability)
                )
        return radius * probability, probability

    def prepare(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The whole-image stage: blur map, global estimate and all candidates (no parameters).

        Args:
            x: Blurry images.
            dtype: Storage type of the result (``torch.float16`` for large images).

        Returns:
            Per image and channel ``c``, ``F = images + 2`` channels from ``c · F``: the
            channel itself, its global then local candidates, then the two hints.

        Shape:
            ``(B, C, H, W) -> (B, C · F, H, W)``.
        """
        batch, channels, height, width = x.shape
        radius, probability = self.blur_maps(x)
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            y = x.reshape(batch * channels, 1, height, width)
            y = y.float() if y.dtype in HALF else y
            blur = estimate_disk_blur(
                y.detach().reshape(batch, channels, height, width), self.radii
            )
            blur = BlurEstimate(*(t.repeat_interleave(channels) for t in astuple(blur)))
            features = y.new_empty((len(y), self.images + HINTS, height, width), dtype=dtype)
            self.global_bank(
                y, blur, features.dtype, features[:, : 1 + self.global_bank.candidates]
            )
            local = features[:, 1 + self.global_bank.candidates : self.images]
            self.local_bank(y, radius.repeat_interleave(channels, 0).to(y.dtype), out=local)
            top = math.log1p(self.local_bank.levels[-1])
            hints = torch.cat([torch.log1p(radius) / top, probability], dim=1)
            features[:, self.images :] = hints.repeat_interleave(channels, 0).to(features.dtype)
        return features.reshape(batch, -1, height, width)

    def fuse(self, features: torch.Tensor) -> torch.Tensor:
        """The local stage: the U-Net's per-pixel mixture of :meth:`prepare`'s candidates.

        Shape:
            ``(B, C · F, H, W) -> (B, C, H, W)`` in the parameters' dtype.
        """
        batch, _, height, width = features.shape
        dtype = next(self.parameters()).dtype
        items = features.reshape(-1, self.images + HINTS, height, width).to(dtype)
        restored = run_padded(
            lambda t: fuse_candidates(self.fusion, t[:, : self.images], t[:, self.images :]),
            items,
            self.multiple,
        )
        return restored.reshape(batch, -1, height, width)
