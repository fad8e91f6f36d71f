"""Input checks and parameter helpers shared by the classical deblurring methods.

The blur operator and the working domains of the Fourier methods are in
:mod:`defocus.operators`.
"""

from __future__ import annotations

import torch

from defocus.checks import check_batch


def check_observation(y: object, psf_shape: tuple[int, ...] | None = None) -> None:
    """Validate the blurry images given to a deblurring method (see :func:`check_batch`).

    Args:
        y: The images.
        psf_shape: The PSF's shape, when the method has one: its last two sizes may
            not exceed the image's.

    Raises:
        TypeError: If ``y`` is not a tensor.
        ValueError: If it is not a floating-point ``(B, C, H, W)`` batch, is empty,
            holds NaN or infinite values, or is smaller than the PSF.
    """
    check_batch(y, finite=True, psf_shape=psf_shape)


def check_positive(name: str, value: float | torch.Tensor) -> None:
    """Refuse a parameter (scalar or tensor) that is not finite and ``> 0``.

    Raises:
        ValueError: Naming the parameter.
    """
    t = torch.as_tensor(value, dtype=torch.float64)
    if t.numel() == 0 or not bool(((t > 0) & t.isfinite()).all()):
        shown = value if t.numel() == 1 else "a tensor with values outside (0, inf)"
        raise ValueError(f"{name} must be finite and > 0, got {shown}")


def as_batch_parameter(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A scalar, ``(B,)`` or ``(B, C)`` parameter as a tensor broadcasting to ``(B, C, 1, 1)``."""
    t = torch.as_tensor(value, dtype=like.real.dtype if like.is_complex() else like.dtype)
    t = t.to(like.device)
    if t.ndim == 1:
        t = t[:, None]
    return t.reshape(*t.shape, 1, 1) if t.ndim == 2 else t
