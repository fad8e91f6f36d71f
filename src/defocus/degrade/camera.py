"""A camera pipeline for realistic degradations: linear light, tone curve, noise, JPEG.

Photos are not linear: a lens blurs *light*, then the camera adds sensor noise,
applies a tone curve and compresses to JPEG. :func:`camera_pipeline` applies those
steps to a blurred image in linear light; :func:`srgb_to_linear` brings a photo there
first. The sRGB curve is IEC 61966-2-1's.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from defocus.checks import check_batch
from defocus.degrade.noise import add_noise


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """Decode sRGB values to linear light (IEC 61966-2-1).

    Shape:
        Any; values in ``[0, 1]``.
    """
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Encode linear light as sRGB values (the inverse of :func:`srgb_to_linear`).

    Shape:
        Any; values in ``[0, 1]``.
    """
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Compress and decompress 8-bit images as JPEG at ``quality`` (Pillow, 4:2:0).

    Shape:
        ``(B, C, H, W)`` with C = 1 or 3 -> the same, float in ``[0, 1]``.
    """
    check_batch(x, finite=True)
    if x.shape[1] not in (1, 3) or not 1 <= int(quality) <= 100:
        message = f"JPEG needs 1 or 3 channels and quality 1..100, got {x.shape[1]}, {quality}"
        raise ValueError(message)
    planes = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = []
    for plane in planes:
        buffer = io.BytesIO()
        Image.fromarray(plane.squeeze(-1) if plane.shape[-1] == 1 else plane).save(
            buffer, format="JPEG", quality=int(quality)
        )
        decoded = np.asarray(Image.open(buffer))
        out.append(decoded.reshape(plane.shape))
    pixels = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)
    return pixels.to(dtype=x.dtype, device=x.device) / 255


def camera_pipeline(
    linear: torch.Tensor,
    generator: torch.Generator | None = None,
    sigma: float = 0.0,
    photons: float | None = None,
    quality: int | None = None,
    downscale: int = 1,
) -> torch.Tensor:
    """What a camera makes of linear light: noise, sRGB tone curve, downscaling, JPEG.

    Order: Poisson–Gaussian sensor noise on the linear signal (``photons`` at white,
    read noise ``sigma``), the sRGB tone curve, area downscaling by an integer factor,
    8-bit quantisation and JPEG (when ``quality`` is given).

    Args:
        linear: Linear-light images in ``[0, 1]``.
        generator: Random generator for the noise.
        sigma: Read-noise standard deviation (linear units).
        photons: Photon count at white for shot noise, or ``None``.
        quality: JPEG quality 1–100, or ``None`` for none (8-bit rounding only).
        downscale: Integer area-downscaling factor (1: none).

    Returns:
        The sRGB-encoded photo in ``[0, 1]``.

    Shape:
        ``(B, C, H, W) -> (B, C, H // downscale, W // downscale)``.
    """
    check_batch(linear, finite=True)
    noisy = add_noise(linear, sigma, generator, photons, clip=True)
    encoded = linear_to_srgb(noisy)
    if downscale > 1:
        encoded = F.avg_pool2d(encoded, downscale)
    if quality is None:
        return (encoded * 255).round() / 255
    return jpeg(encoded, quality)
