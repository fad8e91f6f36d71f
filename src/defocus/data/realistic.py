"""The realistic defocus family: depth-varying scenes, real lens PSFs, a camera pipeline.

Each sample is a triple ``(blurry, sharp, blur_map)``: a sharp photo crop is taken to
linear light, made into a scene (uniform blur; a layered scene with one or two
foreground layers cut from another photo by soft random mattes, each layer at its own
depth; or a smooth depth ramp), defocused with one PSF family (disk, ring, Gaussian or
a measured lens PSF, optionally elliptical), then passed through a camera
(Poisson–Gaussian noise, sRGB tone curve, JPEG). ``sharp`` is the same scene all in
focus, through the tone curve only; ``blur_map`` is the radius in pixels that blurred
each pixel (:mod:`defocus.degrade.scene`). Radii run from 0 (in focus) to
``max_radius`` (24 px by default), at full resolution: crops are read with a margin
of the largest PSF, so no boundary model enters the blur.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from defocus.color import to_luma
from defocus.data.paired import random_crop_box
from defocus.data.seeding import Item, item_rng, split_item
from defocus.data.store import ImageStore, dihedral, take_region, to_float
from defocus.data.synthetic import resolve_sources
from defocus.degrade.camera import camera_pipeline, linear_to_srgb, srgb_to_linear
from defocus.degrade.kernels import disk_kernel, gaussian_kernel, ring_kernel
from defocus.degrade.lens import LENS_SHAPES, lens_psf, warp_psf
from defocus.degrade.scene import Layer, PsfFamily, layered_defocus, ramp, ramp_defocus

PSF_FAMILIES = ("disk", "ring", "gaussian", "lens")
SCENES = ("uniform", "layered", "ramp")


@dataclass(frozen=True)
class RealisticDegradation:
    """Ranges of the realistic defocus family (each sample draws from them).

    Attributes:
        max_radius: Largest blur radius in pixels.
        scene_weights: Probabilities of ``uniform``, ``layered`` and ``ramp`` scenes.
        psf_weights: Probabilities of the ``disk``, ``ring``, ``gaussian`` and
            ``lens`` PSF families (a Gaussian of σ = r / 2 stands for radius r).
        max_ratio: Largest elliptical stretch of the PSF (1 = round only).
        read_noise: Range of the Gaussian read noise σ (linear units).
        photons: Log-uniform range of the photon count at white (shot noise).
        jpeg_quality: Range of the JPEG quality; ``jpeg_probability`` of using JPEG.
        jpeg_probability: Fraction of samples compressed as JPEG.
        in_focus: Probability that a layer (or the background) is exactly in focus.
    """

    max_radius: float = 24.0
    scene_weights: tuple[float, float, float] = (0.2, 0.4, 0.4)
    psf_weights: tuple[float, float, float, float] = (0.3, 0.15, 0.15, 0.4)
    max_ratio: float = 1.3
    read_noise: tuple[float, float] = (0.0, 0.01)
    photons: tuple[float, float] = (200.0, 20000.0)
    jpeg_quality: tuple[int, int] = (60, 98)
    jpeg_probability: float = 0.8
    in_focus: float = 0.25


def _radius(rng: np.random.Generator, config: RealisticDegradation) -> float:
    """A blur radius: 0 with probability ``in_focus``, else denser at small radii."""
    if rng.random() < config.in_focus:
        return 0.0
    return float(config.max_radius * rng.random() ** 2)


def psf_family(rng: np.random.Generator, config: RealisticDegradation) -> PsfFamily:
    """Draw a PSF family (kind, lens shape, stretch) and return its kernel of a radius."""
    kind = PSF_FAMILIES[int(rng.choice(len(PSF_FAMILIES), p=_normalised(config.psf_weights)))]
    ratio = float(1 + (config.max_ratio - 1) * rng.random())
    angle = float(math.pi * rng.random())
    shape = int(rng.integers(2, LENS_SHAPES))  # 0–1 are near-focus shapes

    def kernel(radius: float) -> torch.Tensor:
        if kind == "lens":
            return lens_psf(radius, shape, ratio, angle)
        base = {"disk": disk_kernel, "ring": ring_kernel}.get(kind)
        psf = base(radius) if base is not None else gaussian_kernel(radius / 2)
        return psf if ratio == 1 else warp_psf(psf, 1.0, ratio, angle)

    return kernel


def _normalised(weights: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(weights, dtype=np.float64)
    return array / array.sum()


def soft_matte(rng: np.random.Generator, height: int, width: int) -> torch.Tensor:
    """A random soft-edged ellipse covering about 10–50 % of the frame, ``(1, 1, H, W)``."""
    rows = torch.arange(height, dtype=torch.float64)[:, None]
    cols = torch.arange(width, dtype=torch.float64)[None, :]
    cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    ay, ax = rng.uniform(0.2, 0.45) * height, rng.uniform(0.2, 0.45) * width
    theta = rng.uniform(0, math.pi)
    y, x = rows - cy, cols - cx
    u = (x * math.cos(theta) + y * math.sin(theta)) / ax
    v = (-x * math.sin(theta) + y * math.cos(theta)) / ay
    distance = (torch.sqrt(u**2 + v**2) - 1) * min(ax, ay)  # ≈ pixels outside the edge
    return (0.5 - distance).clamp(0, 1)[None, None]  # a one-pixel anti-aliased edge


def random_region(rng: np.random.Generator, photo: torch.Tensor, side: int) -> torch.Tensor:
    """A uniformly placed ``side`` x ``side`` crop of a ``(C, H, W)`` photo.

    Raises:
        ValueError: If the photo is smaller than the crop.
    """
    height, width = photo.shape[-2:]
    if height < side or width < side:
        raise ValueError(f"photo of {height}x{width} is smaller than the {side}px crop")
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    return photo[..., top : top + side, left : left + side]


def render_realistic(
    sharp: torch.Tensor,
    texture: torch.Tensor,
    rng: np.random.Generator,
    config: RealisticDegradation = RealisticDegradation(),
    margin: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One sample of the family from an sRGB crop (see the module docstring).

    Args:
        sharp: sRGB background crop ``(C, H, W)`` in ``[0, 1]``, with ``margin``
            pixels of real image content around the region returned.
        texture: sRGB crop of the same size for foreground layers.
        rng: Random generator (all choices).
        config: The ranges.
        margin: Pixels cut from each side after blurring (at least the largest PSF's
            half-size for a blur free of boundary effects).

    Returns:
        ``(blurry, sharp, blur_map)``: sRGB ``(C, h, w)``, sRGB ``(C, h, w)`` and the
        radius map ``(1, h, w)``, ``h = H - 2 · margin``.
    """
    background = srgb_to_linear(sharp.double())[None]
    foreground = srgb_to_linear(texture.double())[None]
    height, width = background.shape[-2:]
    psf = psf_family(rng, config)
    scene = SCENES[int(rng.choice(len(SCENES), p=_normalised(config.scene_weights)))]
    if scene == "ramp":
        top, bottom = _radius(rng, config), _radius(rng, config)
        radius_map = ramp(height, width, top, bottom)
        if rng.random() < 0.5:  # left-right instead of top-bottom
            radius_map = ramp(width, height, top, bottom).transpose(-1, -2)
        blurred = ramp_defocus(background, radius_map, psf)
        focused = background
    else:
        layers = []
        if scene == "layered":
            for _ in range(int(rng.integers(1, 3))):
                matte = soft_matte(rng, height, width)
                layers.append(Layer(foreground, matte, _radius(rng, config)))
        blurred, radius_map = layered_defocus(background, _radius(rng, config), layers, psf)
        focused, _ = layered_defocus(
            background, 0.0, [Layer(f.image, f.alpha, 0.0) for f in layers], psf
        )
    generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
    sigma = float(rng.uniform(*config.read_noise))
    photons = float(np.exp(rng.uniform(*np.log(config.photons))))
    compress = rng.random() < config.jpeg_probability
    quality = int(rng.integers(*config.jpeg_quality)) if compress else None
    inner = (..., slice(margin, height - margin), slice(margin, width - margin))
    blurry = camera_pipeline(blurred[inner].contiguous(), generator, sigma, photons, quality)
    reference = (linear_to_srgb(focused[inner]) * 255).round() / 255
    return blurry[0].float(), reference[0].float(), radius_map[inner][0].float()


class RealisticDefocusDataset(Dataset):
    """``(blurry, sharp, blur_map)`` triples of the realistic family from sharp photos.

    Item ``i`` of epoch ``e`` uses photo ``i`` as background and another photo (drawn
    by the item's generator) for foreground layers; every choice comes from a
    generator seeded by ``(seed, e, i)`` alone, so an item is the same in any worker,
    rank or run (see :mod:`defocus.data.seeding`). Crops are read with a margin of the
    largest PSF (real pixels, or the reflect-101 extension at photo borders).

    Args:
        images: A folder, or a list of image files or ``(C, H, W)`` tensors in ``[0, 1]``.
        crop: Side of the square crops returned.
        config: The family's ranges.
        luma: Return BT.601 luma (1 channel); the blur still happens in linear RGB.
        augment: Random flips and quarter turns of both crops.
        seed: Base seed.
        cache: Keep decoded images in memory.

    Shape:
        Items: ``(C, crop, crop)``, ``(C, crop, crop)`` and ``(1, crop, crop)``.
    """

    def __init__(
        self,
        images: str | Path | Sequence[str | Path | torch.Tensor],
        crop: int = 128,
        config: RealisticDegradation = RealisticDegradation(),
        *,
        luma: bool = False,
        augment: bool = True,
        seed: int = 0,
        cache: bool = True,
    ) -> None:
        if crop < 1:
            raise ValueError(f"crop must be positive, got {crop}")
        self.store = ImageStore(resolve_sources(images), cache)
        self.crop, self.config, self.luma = crop, config, luma
        self.augment, self.seed, self.epoch = augment, seed, 0
        # the largest PSF: a lens shape stretched to max_radius reaches about 1.6 r
        self.margin = math.ceil(1.6 * config.max_radius * math.sqrt(config.max_ratio)) + 2

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for plain integer indices."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.store)

    def _region(self, rng: np.random.Generator, index: int) -> torch.Tensor:
        arr = self.store.array(index)
        top, left = random_crop_box(rng, arr.shape[1:], self.crop, self.store.name(index))
        side = self.crop + 2 * self.margin
        x = to_float(take_region(arr, top - self.margin, left - self.margin, side, side))
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return dihedral(x, int(rng.integers(0, 8))) if self.augment else x

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        epoch, index = split_item(item, self.epoch)
        index %= len(self)
        rng = item_rng(self.seed, epoch, index)
        background = self._region(rng, index)
        texture = self._region(rng, int(rng.integers(0, len(self))))
        blurry, sharp, radius = render_realistic(background, texture, rng, self.config, self.margin)
        if self.luma:
            blurry, sharp = to_luma(blurry[None])[0], to_luma(sharp[None])[0]
        return blurry, sharp, radius
