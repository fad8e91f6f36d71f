"""VaryingWienerUNet: Wiener candidates over all radii, picked per pixel with a blur map."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from defocus.blurmap.learned import SHIPPED_ESTIMATOR, learned_blur_map
from defocus.classical.blind import (
    DISK_RADII,
    disk_bank,
    estimate_disk_blur,
    local_disk_radius,
    local_disk_radius_map,
)
from defocus.degrade.blur import blur
from defocus.models.padding import run_padded
from defocus.models.protocol import MODELS, TwoStageDeblurrer
from defocus.models.wiener_bank import WienerBank, wiener_bank
from defocus.models.wiener_unet import HALF, FusionUNet, fuse_candidates, per_channel
from defocus.runtime.memory import release_free_memory
from defocus.runtime.precision import autocast_dtype, network_precision

HINTS = 2
"""Feature channels after the candidates: the radius map (``log(1 + r) / log(1 + r_max)``)
and the defocus probability (a third, the local GCV radius scaled alike, with
``local_hint``)."""
LOCAL_RADII = (1.5, 2.5, 3.5, 5.0, 7.0, 10.0, 14.0, 20.0)
"""Disk radii (pixels) of the radius bank: steps of about x1.4 up to 20 px (a blur
between two of them, or up to 24 px, is mixed and corrected by the fusion U-Net)."""
LOCAL_BALANCES = (3e-3, 3e-2)
"""Wiener balances of the radius bank: sharp and safe (little noise and ringing)."""
MAP_MAX_PIXELS = 6_000_000
"""Largest image on which the blur map is estimated at full resolution; larger ones are
estimated at 1/2, 1/4, ... of their size (area-averaged), the radius scaled back up, so
the estimator's memory stays bounded (a 24 MP photo's map is made at 6 MP)."""
COARSE_FACTOR = 4
"""Down-sampling of the coarse pass: blur of radius ``r`` is restored there as ``r / 4``."""
COARSE_GATE = (9.0, 12.0)
"""Local GCV disk radius (pixels at full size, read at 1/4 size: 2.25 to 3 px) over
which the coarse pass's gate goes from 0 to 1 (:meth:`VaryingWienerUNet.coarse_pass`)."""
COARSE_RADII = (6.0, 9.0)
"""Estimated radius (pixels) over which the output goes from the full-resolution
restoration (below the first) to one whose low band is the coarse pass's (above the
second), inside the gate. The blur-map estimator saturates at about 12 px and reads a
disk of 16 px as 10 to 12 px in about 5 % of the pixels (under 9 px in 0.2 to 0.4 %),
so with (9, 12) those got only part of the pass (``docs/default-model.md``, large
blur)."""
COARSE_DITHER = 0.0025
"""Noise (standard deviation, seeded) added to the copy of the down-sampled image whose
local blur GCV estimates: GCV needs a noise floor, and a clean photo (or noise averaged away
by the down-sampling) otherwise reads every blur as none (a noise-free disk of 16 px
read as 0.75 px; with this dither 4 px at 1/4 size, as it should; photos with noise
σ = 0.01 read the same with or without it)."""
COARSE_MIN_SIDE = 48
"""Shortest side (pixels, after down-sampling) on which the coarse pass runs; on smaller
images the regions of large blur are left as they are."""


class CoarsePass(NamedTuple):
    """What the coarse pass found, at the coarse size (:meth:`VaryingWienerUNet.coarse_pass`).

    Shape:
        Both ``(B · C, 1, ⌈H / 4⌉, ⌈W / 4⌉)`` float32.
    """

    change: torch.Tensor
    """The gated change the model makes in the down-sampled image."""
    gate: torch.Tensor
    """Where the pass applies, 0 to 1 (from the local GCV radius)."""


def ramp(radius: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """0 below ``low``, 1 above ``high``, linear between (the coarse pass's weights)."""
    return ((radius - low) / (high - low)).clamp(0, 1)


def _cubic(t: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with ``a = -0.75`` (PyTorch's bicubic)."""
    a, t = -0.75, t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def round_trip_kernel(factor: int) -> torch.Tensor:
    """1-D kernel of :func:`round_trip_lowpass`: ``4 · factor + 3`` taps, summing to 1.

    A pixel ``d`` away from an impulse receives, after a ``factor x factor`` average
    and bicubic up-sampling (``align_corners=False``), ``cubic((d − j) / factor) /
    factor²`` per dimension, ``j`` the impulse's offset from its block's centre; the
    kernel averages that over the ``factor`` offsets.

    Shape:
        ``(4 · factor + 3,)`` float64.
    """
    distance = torch.arange(-(2 * factor + 1), 2 * factor + 2, dtype=torch.float64)
    offset = torch.arange(factor, dtype=torch.float64) - (factor - 1) / 2
    kernel = _cubic((distance[:, None] - offset[None]) / factor).sum(1) / factor**2
    return kernel / kernel.sum()


def round_trip_lowpass(z: torch.Tensor, factor: int) -> torch.Tensor:
    """The band a round trip to ``1 / factor`` size and back keeps, shift-invariant.

    Equals the average, over the ``factor²`` grid phases, of ``avg_pool2d(factor)``
    followed by bicubic up-sampling: the low band that the coarse pass restores, the
    same wherever a tile starts. Separable (:func:`round_trip_kernel` along the rows,
    then the columns, by the project's blur operator), replicated borders.

    Shape:
        ``(N, 1, H, W) -> (N, 1, H, W)``.
    """
    kernel = round_trip_kernel(factor).to(device=z.device, dtype=z.dtype)
    return blur(blur(z, kernel[None], "replicate"), kernel[:, None], "replicate")


def pack_coarse(slot: torch.Tensor, coarse: CoarsePass) -> None:
    """Store the coarse pass in one full-size channel: two samples per 4x4 block.

    The change of coarse pixel ``(i, j)`` goes to ``slot[4i, 4j]`` and its gate to
    ``slot[4i, 4j + 1]`` (the rest is zero), so that a tile starting on the grid of
    :data:`COARSE_FACTOR` reads its own part of both at the coarse size
    (:func:`unpack_coarse`) and the stack of features holds one channel for them, not
    two up-sampled ones.

    Shape:
        ``slot (N, 1, H, W)``; ``coarse`` ``(N, 1, ⌈H / 4⌉, ⌈W / 4⌉)``.
    """
    factor = COARSE_FACTOR
    slot.zero_()
    slot[..., ::factor, ::factor] = coarse.change
    gates = slot[..., ::factor, 1::factor]  # one column fewer when W = 4k + 1
    gates.copy_(coarse.gate[..., : gates.shape[-1]])


def unpack_coarse(slot: torch.Tensor) -> CoarsePass | None:
    """The coarse pass stored by :func:`pack_coarse`, up-sampled to the slot's size.

    Bicubic (``align_corners=False``), as one whole-image ``interpolate``: on a crop
    whose corner lies on the :data:`COARSE_FACTOR` grid the result equals the
    whole image's, except within 12 pixels of the crop's inner edges (the tiles'
    context covers them). A missing last gate column (``W = 4k + 1``) repeats the one
    before it.

    Returns:
        The up-sampled change and gate (clamped to ``[0, 1]``) in float32, or ``None``
        when the slot is zero (no coarse pass).

    Shape:
        ``(N, 1, H, W) ->`` both ``(N, 1, H, W)``.
    """
    if not bool(slot.any()):
        return None
    factor, (height, width) = COARSE_FACTOR, slot.shape[-2:]
    change = slot[..., ::factor, ::factor].float()
    gate = slot[..., ::factor, 1::factor].float()
    if gate.shape[-1] < change.shape[-1]:
        last = gate[..., -1:] if gate.shape[-1] else torch.zeros_like(change[..., -1:])
        gate = torch.cat([gate, last], dim=-1)
    both = torch.cat([change, gate], dim=1)
    both = F.interpolate(both, scale_factor=factor, mode="bicubic", align_corners=False)
    both = both[..., :height, :width]
    return CoarsePass(both[:, :1], both[:, 1:].clamp(0, 1))


@MODELS.register("varying-wiener-unet")
class VaryingWienerUNet(TwoStageDeblurrer):
    """Spatially varying defocus removal: candidates at every radius, picked per pixel by a U-Net.

    Architecture (no switch: every image goes through the same path):

    1. **Radius bank** (no parameters): Wiener–Hunt deconvolutions of the whole image
       by disks of fixed radii :data:`LOCAL_RADII` (1.5 … 20 px, steps of about x1.4)
       at two balances. Each pixel's blur lies between two of them, whatever depth it
       is at; the bank does not depend on any estimate being right.
    2. **Global candidates**: as :class:`~defocus.models.wiener_unet.WienerUNet`, the
       15 deconvolutions around the image's GCV disk estimate (fine steps of 0.25 px,
       exact where the blur is uniform).
    3. **Hints**: the per-pixel blur radius ``r`` and defocus probability ``p`` of the
       shipped blur-map estimator (:func:`defocus.blurmap.learned_blur_map`).
    4. **Fusion**: a :class:`~defocus.models.wiener_unet.FusionUNet` sees the input, the
       candidates' differences from it and the hints, and mixes the input and the
       candidates per pixel (softmax) plus a residual
       (:func:`~defocus.models.wiener_unet.fuse_candidates`): it picks, per region, the
       candidate whose radius fits (ringing and residual blur tell it) and the input
       where nothing is out of focus.

    5. **Local GCV hint** (with ``local_hint``): the GCV disk radius of 128 px windows
       (:func:`~defocus.classical.blind.local_disk_radius_map`, interpolated to every
       pixel) as a third hint. GCV reads uniform small disks exactly where the learned
       map misreads them (``benchmarks/bench_blurmap_uniform.py``).
    6. **v1's own output** (with ``uniform_candidate``): a frozen copy of WienerUNet's
       fusion U-Net mixes the global candidates as v1 does, tile by tile, and its
       result is one more candidate (the last): where the blur is uniform the fusion
       can return exactly v1's restoration instead of re-learning it.

    Its first 16 inputs and 17 outputs are laid out as WienerUNet's, so WienerUNet's
    fusion weights can start it (``scripts/warm_start_varying.py``).

    Args:
        in_channels: Image channels C (1 or 3; each is restored alone, one blur map
            for all).
        radii: Radius table of the global estimate, pixels.
        offsets: Table steps of the global candidates around the estimate.
        factors: Multiples of the estimated balance of the global candidates.
        local_radii: Disk radii of the radius bank, pixels.
        local_balances: Balances of the radius bank (absolute; images in ``[0, 1]``).
        widths: U-Net channels at full, half and quarter resolution.
        estimator: Blur-map weights (a shipped name or a safetensors path).
        uniform_candidate: Add v1's output as a candidate (architecture, 6); the
            frozen ``uniform`` U-Net's weights are part of the state dict.
        local_hint: Add the local GCV radius as a hint (architecture, 5).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, any H and W.
    """

    def __init__(
        self,
        in_channels: int = 1,
        radii: Sequence[float] = DISK_RADII,
        offsets: Sequence[int] = (-2, -1, 0, 1, 2),
        factors: Sequence[float] = (0.25, 1.0, 4.0),
        local_radii: Sequence[float] = LOCAL_RADII,
        local_balances: Sequence[float] = LOCAL_BALANCES,
        widths: Sequence[int] = (32, 64, 128),
        estimator: str = SHIPPED_ESTIMATOR,
        uniform_candidate: bool = False,
        local_hint: bool = False,
    ) -> None:
        super().__init__(in_channels, multiple=4, context=32)
        if not local_radii or not local_balances or min(local_balances) <= 0:
            raise ValueError("local_radii and local_balances must be non-empty, balances > 0")
        self.radii, self.estimator = tuple(radii), str(estimator)
        self.local_radii = tuple(float(r) for r in local_radii)
        self.global_bank = WienerBank(radii, offsets, factors)
        self.register_buffer("local_psfs", disk_bank(local_radii)[None], persistent=False)
        balances = torch.tensor(local_balances, dtype=torch.float32)
        self.register_buffer(
            "local_balances", balances.expand(len(local_radii), -1)[None], persistent=False
        )
        self.local_candidates = len(local_radii) * len(local_balances)
        self.images = 1 + self.global_bank.candidates + self.local_candidates
        self.uniform: FusionUNet | None = None
        if uniform_candidate:  # v1's fusion of the global candidates, never trained here
            inputs = 1 + self.global_bank.candidates
            self.uniform = FusionUNet(inputs, inputs + 1, widths).requires_grad_(False)
        mixed = self.images + int(uniform_candidate)
        self.hints = HINTS + int(local_hint)
        self.local_hint = local_hint
        self.fusion = FusionUNet(mixed + self.hints, mixed + 1, widths)
        self.feature_channels = self.images + self.hints + 1  # the coarse pass last

    def blur_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The estimated blur radius ``r`` and defocus probability ``p`` of every pixel.

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
        return radius, probability

    def coarse_pass(self, x: torch.Tensor) -> CoarsePass | None:
        """What this model changes in ``x`` at :data:`COARSE_FACTOR` x less resolution.

        ``x`` is area-averaged by :data:`COARSE_FACTOR` (after a reflecting pad to a
        multiple of it) and restored whole by this model (itself with its own coarse
        pass when large enough, so blur up to about ``12 · 4^k`` px is reached): large
        blur shrinks by the factor into the range the fusion U-Net restores well, and
        the noise by as much. The change is gated, region by region, by how large
        the down-sampled image's local GCV disk estimate is
        (:func:`~defocus.classical.blind.local_disk_radius` on a copy with
        :data:`COARSE_DITHER` noise; the largest of each window and its 8 neighbours):
        0 below ``COARSE_GATE[0] / 4`` px, 1 above ``COARSE_GATE[1] / 4``, bilinear
        between window centres. A flat or sharp region, where the blur map reads any
        radius (50 px on a clear sky), gets no coarse change however large its map says
        the blur is; a sharp subject beside a blurred background keeps its own reading.

        Returns:
            The gated change and the gate, or ``None`` when the down-sampled image
            would be smaller than :data:`COARSE_MIN_SIDE` or no region has large blur.

        Shape:
            ``(B, C, H, W) ->`` both ``(B · C, 1, ⌈H / 4⌉, ⌈W / 4⌉)`` float32.
        """
        batch, channels, height, width = x.shape
        if min(height, width) // COARSE_FACTOR < COARSE_MIN_SIDE:
            return None
        pad_h, pad_w = (-height) % COARSE_FACTOR, (-width) % COARSE_FACTOR
        with torch.no_grad():
            padded = F.pad(x.float(), (0, pad_w, 0, pad_h), mode="reflect")
            low = F.avg_pool2d(padded, COARSE_FACTOR)
            del padded
            generator = torch.Generator(low.device).manual_seed(0)
            noise = torch.randn(low.shape, generator=generator, device=low.device)
            radius = local_disk_radius(low + COARSE_DITHER * noise, radii=self.radii)
            del noise
            # one window more on every side: the blur map's weight draws the boundary
            radius = F.max_pool2d(radius, 3, stride=1, padding=1)
            gate = ramp(radius, *(r / COARSE_FACTOR for r in COARSE_GATE))
            if not bool(gate.any()):
                return None
            gate = F.interpolate(gate, size=low.shape[-2:], mode="bilinear", align_corners=False)
            features = self.prepare(low)
            with network_precision(autocast_dtype("auto", x.device), x.device):
                change = self.fuse(features).float() - low
            del features, low
        shape = (batch * channels, 1, *change.shape[-2:])
        gate = gate.expand_as(change)  # one gate for all channels
        return CoarsePass((change * gate).reshape(shape), gate.reshape(shape))

    def prepare(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The whole-image stage: blur map, global estimate and all candidates (no parameters).

        Args:
            x: Blurry images.
            dtype: Storage type of the result (``torch.float16`` for large images).

        Returns:
            Per image and channel ``c``, ``F = images + hints + 1`` channels from
            ``c · F``: the channel itself, its global candidates, the radius bank's
            (radius-major), the hints, then the coarse pass (:meth:`coarse_pass`,
            packed by :func:`pack_coarse`; zero where it does not run).

        Shape:
            ``(B, C, H, W) -> (B, C · F, H, W)``.
        """
        batch, channels, height, width = x.shape
        coarse = self.coarse_pass(x)  # first: its memory is free again below
        radius, probability = self.blur_maps(x)
        storage = dtype or radius.dtype
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            # the hints as stored, made now: full-size float32 maps are not kept
            scaled = self._scale_radius(radius).to(storage)
            probability = probability.to(storage)
            del radius
            y = x.reshape(batch * channels, 1, height, width)
            y = y.float() if y.dtype in HALF else y
            blur = per_channel(
                estimate_disk_blur(y.detach().view(batch, channels, height, width), self.radii),
                batch,
                channels,
            )
            features = y.new_empty((len(y), self.feature_channels, height, width), dtype=dtype)
            # the hints first (the banks write other slots), hint by hint into each
            # channel's slots: no full-size stacked copy, and freed before the banks run
            slots = features.view(batch, channels, -1, height, width)
            slots[:, :, self.images] = scaled
            slots[:, :, self.images + 1] = probability
            if coarse is None:
                features[:, -1] = 0
            else:
                pack_coarse(features[:, -1:], coarse)
            del scaled, probability, coarse
            if self.local_hint:  # GCV at full resolution: its small radii are the point
                images = y.view(batch, channels, height, width)
                local = self._scale_radius(local_disk_radius_map(images, radii=self.radii))
                slots[:, :, self.images + 2] = local.to(storage)
                del local
            del slots
            release_free_memory()  # the blur map's freed temporaries
            first = self.global_bank.candidates  # the bank writes the input first, then
            # its candidates: let it overwrite the last global channel, filled next
            wiener_bank(
                y,
                self.local_psfs.to(y.dtype),
                self.local_balances.to(y.dtype),
                features.dtype,
                features[:, first : self.images],
            )
            release_free_memory()
            self.global_bank(y, blur, features.dtype, features[:, : first + 1])
        return features.reshape(batch, -1, height, width)

    def _scale_radius(self, radius: torch.Tensor) -> torch.Tensor:
        """A radius hint as stored: ``log(1 + r) / log(1 + r_max)``, ``r_max`` the bank's top."""
        return torch.log1p(radius) / math.log1p(max(self.local_radii))

    def _mix(self, items: torch.Tensor) -> torch.Tensor:
        """The fusion U-Net's mixture of the candidates (v1's output appended, if any)."""
        candidates, hints = items[:, : self.images], items[:, self.images :]
        if self.uniform is not None:
            with torch.no_grad():
                first = 1 + self.global_bank.candidates
                uniform = fuse_candidates(self.uniform, candidates[:, :first])
            candidates = torch.cat([candidates, uniform], dim=1)
        return fuse_candidates(self.fusion, candidates, hints)

    def defocus_probability(self, features: torch.Tensor) -> torch.Tensor:
        """The blur-map hint ``p`` stored in :meth:`prepare`'s features (same for all channels).

        Shape:
            ``(B, C · F, h, w) -> (B, 1, h, w)`` float32.
        """
        batch, _, height, width = features.shape
        slots = features.view(batch, -1, self.feature_channels, height, width)
        return slots[:, 0, self.images + 1 : self.images + 2].float()

    def fuse(self, features: torch.Tensor) -> torch.Tensor:
        """The local stage: the U-Net's per-pixel mixture of :meth:`prepare`'s candidates.

        Where the coarse pass ran (:func:`unpack_coarse` of the last feature channel:
        its change ``c`` and gate ``g``, up-sampled), the low band of the U-Net's output
        ``u`` is replaced by the coarse pass's: ``u + w · (c − g · lowpass(u − x))``,
        with ``lowpass`` :func:`round_trip_lowpass` (the band the quarter-size copy
        holds) and ``w`` rising linearly with the estimated radius over
        :data:`COARSE_RADII`. Adding ``c`` alone would count the part of that band which
        the U-Net restores itself twice. Elsewhere the output is the U-Net's, bit for
        bit. Tiles must start on the :data:`COARSE_FACTOR` grid (``multiple``).

        Shape:
            ``(B, C · F, H, W) -> (B, C, H, W)`` in the parameters' dtype.
        """
        batch, _, height, width = features.shape
        dtype = next(self.parameters()).dtype
        items = features.reshape(-1, self.feature_channels, height, width).to(dtype)
        restored = run_padded(self._mix, items[:, : self.images + self.hints], self.multiple)
        coarse = unpack_coarse(items[:, -1:])
        if coarse is not None:
            scaled = items[:, self.images : self.images + 1].float()  # the radius hint
            radius = torch.expm1(scaled * math.log1p(max(self.local_radii)))
            weight = ramp(radius, *COARSE_RADII)
            own = round_trip_lowpass(restored.float() - items[:, :1].float(), COARSE_FACTOR)
            correction = weight * (coarse.change - coarse.gate * own)
            restored = restored + correction.to(restored.dtype)
        return restored.reshape(batch, -1, height, width)
