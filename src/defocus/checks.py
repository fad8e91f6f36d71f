"""Validation of image batches shared by the degradations, the methods and the metrics."""

from __future__ import annotations

import torch

from defocus.limits import check_psf_fits


def check_batch(
    x: object, *, finite: bool = True, psf_shape: tuple[int, ...] | None = None
) -> torch.Tensor:
    """Check that ``x`` is a non-empty ``(B, C, H, W)`` floating-point tensor.

    Args:
        x: What a function was given as images.
        finite: Also refuse NaN and infinite values (one pass over the data; skipped
            where a training loop would pay a device synchronisation every step).
        psf_shape: A PSF's shape, whose last two sizes may not exceed the image's.

    Returns:
        ``x``, typed as a tensor.

    Raises:
        TypeError: If ``x`` is not a ``torch.Tensor``.
        ValueError: If it is not floating-point or not 4-D, is empty, holds NaN or
            infinite values (``finite``), or is smaller than the PSF.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected torch.Tensor images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point image in [0, 1], got {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) images, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"empty batch of images, shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError("image contains NaN or infinite values")
    if psf_shape is not None:
        check_psf_fits(psf_shape, tuple(x.shape))
    return x
