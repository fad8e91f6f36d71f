"""Spatially varying defocus with its ground-truth blur map: layered scenes and depth ramps.

Real defocus changes with depth. Two models render it from sharp images, each giving
the per-pixel blur radius (pixels) that produced every output pixel:

- :func:`layered_defocus`: layers composited back to front, as a thin lens sees
  occlusion: each layer and its alpha matte are blurred with that layer's PSF, and a
  layer covers what lies behind it by its *blurred* matte, so a blurred foreground
  spills softly over the background while a sharp foreground edge stays sharp over a
  blurred background (no bleeding of the background across it). Uniform blur is the
  one-layer case.
- :func:`ramp_defocus`: a smoothly varying radius map (e.g. rising from 0 at the top
  to 6 px at the bottom, the GWIS seed's Fig. 9), rendered by blurring with PSFs at
  radius levels and interpolating linearly between the two levels around each
  pixel's radius.

PSFs come from a callable ``psf(radius) -> (h, w)`` kernel (disk, ring, Gaussian,
a measured lens PSF, ...); radius 0 must give the identity. Blur runs in whatever
space the images are in: pass linear light (see :mod:`defocus.degrade.camera`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from defocus.checks import check_batch
from defocus.degrade.blur import blur

PsfFamily = Callable[[float], torch.Tensor]
RAMP_STEP = 0.5
"""Spacing (pixels) of the radius levels :func:`ramp_defocus` interpolates between."""


@dataclass
class Layer:
    """A foreground layer: its colours, its alpha matte and its blur radius.

    Attributes:
        image: Colours ``(B, C, H, W)`` (only meaningful where ``alpha`` > 0).
        alpha: Coverage in ``[0, 1]``, ``(B, 1, H, W)``.
        radius: Blur radius of the layer in pixels.
    """

    image: torch.Tensor
    alpha: torch.Tensor
    radius: float


def _blur(x: torch.Tensor, psf: PsfFamily, radius: float) -> torch.Tensor:
    return x if radius <= 0 else blur(x, psf(radius), "reflect-101")


def layered_defocus(
    background: torch.Tensor,
    background_radius: float,
    layers: Sequence[Layer],
    psf: PsfFamily,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite defocused layers over a defocused background (see the module docstring).

    ``out = blur(F·α) + (1 - blur(α)) · out_behind`` per layer, from the back to the
    front; the blur map is the radius of the front-most layer whose blurred matte is
    at least 0.5 at a pixel (the background's elsewhere).

    Args:
        background: The farthest layer ``(B, C, H, W)``, fully opaque.
        background_radius: Its blur radius in pixels.
        layers: Foreground layers, farthest first.
        psf: Kernel of a radius.

    Returns:
        The image and its blur map (radius in pixels).

    Shape:
        ``background (B, C, H, W)`` -> ``(B, C, H, W)`` and ``(B, 1, H, W)``.
    """
    check_batch(background, finite=True)
    out = _blur(background, psf, background_radius)
    radius = torch.full_like(background[:, :1], float(background_radius))
    for layer in layers:
        alpha = _blur(layer.alpha.to(background.dtype), psf, layer.radius).clamp(0, 1)
        colours = _blur(layer.image * layer.alpha, psf, layer.radius)
        out = colours + (1 - alpha) * out
        radius = torch.where(alpha >= 0.5, torch.full_like(radius, layer.radius), radius)
    return out, radius


def ramp_defocus(
    image: torch.Tensor, radius_map: torch.Tensor, psf: PsfFamily, step: float = RAMP_STEP
) -> torch.Tensor:
    """Blur each pixel by its own radius, interpolating between radius levels.

    Args:
        image: Sharp images ``(B, C, H, W)``.
        radius_map: Radius per pixel ``(B, 1, H, W)`` (pixels, >= 0), smooth.
        psf: Kernel of a radius.
        step: Spacing of the levels (the result is exact at multiples of it).

    Returns:
        The defocused images.

    Shape:
        ``(B, C, H, W)``, ``(B, 1, H, W)`` -> ``(B, C, H, W)``.
    """
    check_batch(image, finite=True)
    if radius_map.shape != (image.shape[0], 1, *image.shape[-2:]):
        raise ValueError(f"radius map of shape {tuple(radius_map.shape)} does not fit the image")
    if not bool((radius_map >= 0).all() and radius_map.isfinite().all()):
        raise ValueError("radius map must be finite and >= 0")
    top = math.ceil(float(radius_map.max()) / step)
    position = radius_map / step
    out = torch.zeros_like(image)
    previous = image
    for level in range(top + 1):
        current = previous if level == 0 else _blur(image, psf, level * step)
        # weight of this level: a tent around it in units of levels
        weight = (1 - (position - level).abs()).clamp_min(0)
        out += weight * current
        previous = current
    return out


def ramp(height: int, width: int, top: float, bottom: float) -> torch.Tensor:
    """A radius map rising linearly from ``top`` (first row) to ``bottom`` (last row).

    Shape:
        ``(1, 1, height, width)``.
    """
    rows = torch.linspace(float(top), float(bottom), height, dtype=torch.float64)
    return rows[None, None, :, None].expand(1, 1, height, width).clone()


def elliptical_matte(height: int, width: int, softness: float = 4.0) -> torch.Tensor:
    """A soft ellipse covering the middle third of the image (alpha 1 inside, 0 outside).

    Shape:
        ``(1, 1, height, width)`` float32, ramping over ``softness`` pixels at the edge.
    """
    rows = (torch.arange(height, dtype=torch.float64) + 0.5 - height / 2) / (height / 3)
    cols = (torch.arange(width, dtype=torch.float64) + 0.5 - width / 2) / (width / 4)
    distance = (rows[:, None].square() + cols[None, :].square()).sqrt()  # 1 on the ellipse
    scale = softness / (min(height, width) / 3)
    return ((1 - distance) / scale + 0.5).clamp(0, 1)[None, None].float()
