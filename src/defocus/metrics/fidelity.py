"""Full-reference fidelity metrics: PSNR and SSIM (Wang et al. 2004), on luma or RGB."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F

from defocus.color import to_luma
from defocus.metrics.base import METRICS, Metric, check_images

CHANNELS = ("y", "rgb")


def _check_channels(channels: str) -> None:
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {', '.join(CHANNELS)}, got {channels!r}")


def _select_channels(x: torch.Tensor, channels: str) -> torch.Tensor:
    """BT.601 luma for ``"y"``; the channels as given for ``"rgb"``."""
    _check_channels(channels)
    return to_luma(x) if channels == "y" else x


def psnr(
    restored: torch.Tensor, reference: torch.Tensor, peak: float = 1.0, channels: str = "y"
) -> torch.Tensor:
    """Peak signal-to-noise ratio ``10·log10(peak² / MSE)`` in dB (higher is better).

    The MSE is taken over all pixels (and, for ``"rgb"``, all channels jointly, as
    ``skimage.metrics.peak_signal_noise_ratio`` does on a colour array). Identical
    images have an MSE of 0 and a PSNR of ``inf``, returned as such.

    Args:
        restored: Restored images in ``[0, 1]``.
        reference: Reference images, same shape.
        peak: Peak signal value (1 for ``[0, 1]`` data).
        channels: ``"y"`` (BT.601 luma, the default) or ``"rgb"`` (all channels).

    Returns:
        PSNR per image.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shapes, dtypes or ``channels``.
    """
    check_images(restored, reference)
    if not (math.isfinite(peak) and peak > 0):
        raise ValueError(f"peak must be finite and > 0, got {peak}")
    diff = _select_channels(restored, channels) - _select_channels(reference, channels)
    mse = diff.square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(peak**2 / mse)


def _gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps (the weights of ``scipy.ndimage``)."""
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (weights / weights.sum()).to(dtype=like.dtype, device=like.device)


def ssim_map(
    restored: torch.Tensor,
    reference: torch.Tensor,
    window: int = 11,
    sigma: float | None = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float = 1.0,
) -> torch.Tensor:
    """The local SSIM index of every pixel whose whole window lies inside the image.

    Args:
        restored: Restored images.
        reference: Reference images, same shape.
        window: Odd window size in pixels.
        sigma: Standard deviation of the Gaussian window; ``None`` weighs the window
            uniformly (the SSIM of the ``window x window`` patch around the pixel).
        k1: Stabilising constant of the luminance term.
        k2: Stabilising constant of the contrast-structure term.
        data_range: Dynamic range of the data (1 for ``[0, 1]``).

    Returns:
        The SSIM map of each channel.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B, C, H - window + 1, W - window + 1)``.

    Raises:
        ValueError: Bad shapes or dtypes, even ``window``, or images smaller than it.
    """
    check_images(restored, reference)
    if window < 1 or window % 2 == 0:
        raise ValueError(f"SSIM window must be a positive odd size, got {window}")
    batch, chans, height, width = restored.shape
    if height < window or width < window:
        raise ValueError(
            f"image of {height}x{width} pixels is smaller than the {window}x{window} SSIM window"
        )
    x = restored.reshape(batch * chans, 1, height, width)
    y = reference.reshape(batch * chans, 1, height, width)
    # One pass of the separable window over the five statistics, stacked on the batch.
    stats = torch.cat((x, y, x * x, y * y, x * y), dim=0)
    if sigma is None:
        taps = torch.full((window,), 1.0 / window, dtype=x.dtype, device=x.device)
    else:
        taps = _gaussian_window(window, sigma, x)
    stats = F.conv2d(F.conv2d(stats, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
    mx, my, mxx, myy, mxy = stats.chunk(5, dim=0)
    vx, vy, cxy = mxx - mx * mx, myy - my * my, mxy - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return index.view(batch, chans, *index.shape[-2:])


def ssim(
    restored: torch.Tensor,
    reference: torch.Tensor,
    channels: str = "y",
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float = 1.0,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) with a Gaussian window (higher is better).

    Local means, variances and covariance are Gaussian-weighted (population
    statistics, no sample-covariance correction). As in
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)``, the SSIM map (:func:`ssim_map`) is
    averaged only over pixels whose whole window lies inside the image (a border of
    ``(window - 1) // 2`` pixels is left out), so no padding is involved. With
    ``"rgb"`` the result is the mean of the per-channel SSIMs.

    Args:
        restored: Restored images in ``[0, 1]``.
        reference: Reference images, same shape.
        channels: ``"y"`` (BT.601 luma, the default) or ``"rgb"``.
        window: Odd window size in pixels.
        sigma: Standard deviation of the Gaussian window.
        k1: Stabilising constant of the luminance term.
        k2: Stabilising constant of the contrast-structure term.
        data_range: Dynamic range of the data (1 for ``[0, 1]``).

    Returns:
        SSIM per image.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shapes, dtypes or ``channels``, even ``window``, or images
            smaller than the window.
    """
    check_images(restored, reference)
    x = _select_channels(restored, channels)
    y = _select_channels(reference, channels)
    index = ssim_map(x, y, window, sigma, k1, k2, data_range)
    return index.mean(dim=(2, 3)).mean(dim=1)


@METRICS.register("psnr")
class PSNR(Metric):
    """Module form of :func:`psnr` (registry name ``"psnr"``, higher is better).

    Args:
        peak: Peak signal value.
        channels: ``"y"`` or ``"rgb"``.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "psnr"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def __init__(self, peak: float = 1.0, channels: str = "y") -> None:
        super().__init__()
        _check_channels(channels)
        self.peak, self.channels = peak, channels

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """PSNR of each restored image against its reference."""
        return psnr(restored, reference, self.peak, self.channels)


@METRICS.register("ssim")
class SSIM(Metric):
    """Module form of :func:`ssim` (registry name ``"ssim"``, higher is better).

    Args:
        channels: ``"y"`` or ``"rgb"``.
        window: Odd window size.
        sigma: Standard deviation of the Gaussian window.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "ssim"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def __init__(self, channels: str = "y", window: int = 11, sigma: float = 1.5) -> None:
        super().__init__()
        _check_channels(channels)
        self.channels, self.window, self.sigma = channels, window, sigma

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """SSIM of each restored image against its reference."""
        return ssim(restored, reference, self.channels, self.window, self.sigma)
