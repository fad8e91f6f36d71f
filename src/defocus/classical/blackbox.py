"""Black-box deblurring of Belyaev & Fayolle (2022): aL, mRL and mLM.

These methods never look at the PSF: they only *call* the blur ``F`` (any callable
mapping a ``(B, C, H, W)`` batch to one of the same shape) and use the 180° flip
``R(x) = x[..., ::-1, ::-1]``, since ``R F R ≈ Fᵀ`` for a convolution.
:func:`blur_operator` wraps a known PSF into such a callable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from defocus.classical.noise_estimate import noise_to_signal_ratio
from defocus.classical.operators import as_batch_parameter, check_observation
from defocus.classical.richardson_lucy import initial_estimate
from defocus.degrade.blur import as_psf_tensor
from defocus.limits import check_iterations
from defocus.operators.blur import BlurOperator

Operator = Callable[[torch.Tensor], torch.Tensor]


def blur_operator(
    psf: torch.Tensor | np.ndarray | str, like: torch.Tensor, padding: str = "reflect"
) -> Operator:
    """The blur ``x ↦ psf ⊛ x`` with the given boundary rule, as a black-box callable.

    Equals :func:`defocus.degrade.blur` with the same PSF and boundary: it is the
    forward map of :class:`defocus.operators.blur.BlurOperator` (transfer function
    cached when it uses FFTs).

    Args:
        psf: Kernel or spec, converted once to ``like``'s dtype and device.
        like: A tensor with the dtype and device the operator will be applied to.
        padding: Boundary model (:mod:`defocus.operators.boundary`), default
            ``"reflect"`` (= ``"reflect-101"``).

    Returns:
        A callable ``(B, C, H, W) -> (B, C, H, W)``.

    Raises:
        ValueError: If ``like`` is not a finite, non-empty batch at least as large as
            the PSF.
    """
    check_observation(like)
    k = as_psf_tensor(psf, like)
    check_observation(like, tuple(k.shape))
    return BlurOperator(k, padding).forward


def flip(x: torch.Tensor) -> torch.Tensor:
    """The 180° rotation ``R`` of the image plane.

    Shape:
        ``(..., H, W) -> (..., H, W)``.
    """
    return x.flip(-2, -1)


def landweber_al(
    y: torch.Tensor,
    forward: Operator,
    iterations: int = 100,
    p: float = 0.0,
    init: str | float | torch.Tensor = "observed",
) -> torch.Tensor:
    """Approximate Landweber iterations (aL).

    ``h = R(y - F(x))``, ``d = R[(F(x + h) - F(x - h)) / 2]``, ``x ← x + n^(-p) d``.

    Args:
        y: Blurry images.
        forward: The blur, called as a black box.
        iterations: Number of iterations.
        p: Step-size decay exponent (``λ_n = n^(-p)``; 0 keeps unit steps).
        init: ``"observed"``, a constant or a start image.

    Returns:
        The restored images (not clipped).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    check_observation(y)
    check_iterations(iterations)
    x = initial_estimate(y, init)
    for n in range(1, int(iterations) + 1):
        h = flip(y - forward(x))
        d = flip(forward(x + h) - forward(x - h)) * 0.5
        x = x + d * float(n) ** (-p)
    return x


def modified_rl(
    y: torch.Tensor,
    forward: Operator,
    iterations: int = 500,
    eps: float = 1e-6,
    init: str | float | torch.Tensor = "observed",
) -> torch.Tensor:
    """Modified Richardson–Lucy iterations (mRL), two half steps per iteration.

    ``r = R F R( F(x) / (|y| + ε) )``, ``x ← x / (|r| + ε)``; then
    ``r = R F R( y / (|F(x)| + ε) )``, ``x ← x · r``.

    Args:
        y: Blurry images, non-negative.
        forward: The blur, called as a black box.
        iterations: Number of (double) iterations.
        eps: Guards every division.
        init: ``"observed"``, a constant or a start image.

    Returns:
        The restored images (not clipped).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    check_observation(y)
    check_iterations(iterations)

    def back(v: torch.Tensor) -> torch.Tensor:
        return flip(forward(flip(v)))

    x = initial_estimate(y, init)
    y_abs = y.abs() + eps
    for _ in range(int(iterations)):
        x = x / (back(forward(x) / y_abs).abs() + eps)
        x = x * back(y / (forward(x).abs() + eps))
    return x


def modified_lm(
    y: torch.Tensor,
    forward: Operator,
    iterations: int = 100,
    damping: float | torch.Tensor | None = None,
    delta: float = 1e-6,
    init: str | float | torch.Tensor = "observed",
) -> torch.Tensor:
    """Modified Levenberg–Marquardt iterations (mLM), per channel.

    ``H = FFT(F(x)) / (FFT(x) + δ)``;
    ``x ← x + Re IFFT[ conj(H) · FFT(y - F(x)) / (|H|² + a) ]``, with ``a = 100 · NSR``,
    ``NSR = σ̂² / var(y)`` from Immerkær's noise estimate, unless ``damping`` is given.

    Args:
        y: Blurry images.
        forward: The blur, called as a black box.
        iterations: Number of iterations.
        damping: ``a`` (scalar, ``(B,)`` or ``(B, C)``); ``None`` for ``100 · NSR``.
        delta: Added to ``FFT(x)`` before dividing.
        init: ``"observed"``, a constant or a start image.

    Returns:
        The restored images (not clipped).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    check_observation(y)
    check_iterations(iterations)
    size = y.shape[-2:]
    a = as_batch_parameter(100.0 * noise_to_signal_ratio(y) if damping is None else damping, y)
    x = initial_estimate(y, init)
    for _ in range(int(iterations)):
        fx = forward(x)
        transfer = torch.fft.rfft2(fx) / (torch.fft.rfft2(x) + delta)
        step = transfer.conj() * torch.fft.rfft2(y - fx) / (transfer.abs().square() + a)
        x = x + torch.fft.irfft2(step, s=size)
    return x
