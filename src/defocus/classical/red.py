"""Regularisation by denoising (RED; Romano, Elad & Milanfar 2017).

The objective ``E(x) = ||F(x) - y||² / (2σ²) + (λ/2) xᵀ(x - f(x))`` is minimised on
the 0..255 scale, on the luma channel of colour images (chroma is copied from the
input). The prior ``f`` is a classical denoiser that runs offline: the original TNRD
is not available, so :func:`defocus.classical.denoisers.guided_filter` (default; fast)
or :func:`defocus.classical.denoisers.nl_means` (non-local means) is used, or any
callable ``f(x, σ_f)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch

from defocus.classical.denoisers import guided_filter, nl_means
from defocus.classical.operators import check_observation
from defocus.color import rgb_to_ycbcr, ycbcr_to_rgb
from defocus.degrade.blur import as_psf_tensor
from defocus.limits import check_iterations
from defocus.operators.blur import BlurOperator
from defocus.operators.domain import Domain

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
DENOISERS: dict[str, Denoiser] = {"guided": guided_filter, "nlm": nl_means}
DEFAULT_ITERATIONS = {"fixed-point": 200, "steepest-descent": 1500}
_PEAK = 255.0


def _denoiser(denoiser: str | Denoiser) -> Denoiser:
    if callable(denoiser):
        return denoiser
    if denoiser not in DENOISERS:
        raise ValueError(f"denoiser must be one of {', '.join(DENOISERS)} or a callable")
    return DENOISERS[denoiser]


def red_luma(
    y: torch.Tensor,
    psf: torch.Tensor,
    method: Literal["fixed-point", "steepest-descent"] = "fixed-point",
    lam: float = 0.02,
    sigma: float = 2.0**0.5,
    denoiser_sigma: float = 3.25,
    iterations: int | None = None,
    denoiser: str | Denoiser = "guided",
    padding: str = "mirror",
) -> torch.Tensor:
    """RED on single-channel images on the 0..255 scale (see :func:`red`).

    Shape:
        ``(B, 1, H, W) -> (B, 1, H, W)``.
    """
    if method not in DEFAULT_ITERATIONS:
        raise ValueError(f"method must be 'fixed-point' or 'steepest-descent'; got {method!r}")
    steps = DEFAULT_ITERATIONS[method] if iterations is None else int(iterations)
    f = _denoiser(denoiser)
    k = as_psf_tensor(psf, y)
    check_observation(y, tuple(k.shape))
    domain = Domain.for_psf(y.shape[-2:], k.shape[-2:], padding)
    yp = domain.pad(y)
    op = BlurOperator(k, "circular", method="fft")  # the periodic blur on the domain
    otf = op.transfer_function(yp.shape[-2:])
    inv_var = 1.0 / sigma**2

    def prior(v: torch.Tensor) -> torch.Tensor:
        # denoise the image region only, then extend like y (4x cheaper with "mirror")
        return domain.pad(f(domain.crop(v), denoiser_sigma))

    x = yp
    if method == "fixed-point":
        # x ← (FᵀF/σ² + λI)⁻¹ (Fᵀy/σ² + λ f(x)), diagonal in the Fourier domain
        data = otf.conj() * torch.fft.rfft2(yp) * inv_var
        denominator = otf.abs().square() * inv_var + lam
        size = yp.shape[-2:]
        for _ in range(steps):
            x = torch.fft.irfft2((data + lam * torch.fft.rfft2(prior(x))) / denominator, s=size)
    else:
        mu = 2.0 / (inv_var + lam)
        for _ in range(steps):
            gradient = op.adjoint(op.forward(x) - yp) * inv_var + lam * (x - prior(x))
            x = (x - mu * gradient).clamp(0.0, _PEAK)
    return domain.crop(x)


def red(
    y: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    method: Literal["fixed-point", "steepest-descent"] = "fixed-point",
    lam: float = 0.02,
    sigma: float = 2.0**0.5,
    denoiser_sigma: float = 3.25,
    iterations: int | None = None,
    denoiser: str | Denoiser = "guided",
    padding: str = "mirror",
) -> torch.Tensor:
    """Deblur with RED; ``lam``, ``sigma`` and ``denoiser_sigma`` are on the 0..255 scale.

    Fixed point: ``x ← (FᵀF/σ² + λI)⁻¹ (Fᵀ y/σ² + λ f(x))`` solved exactly with FFTs
    on the padded domain. Steepest descent: ``μ = 2 / (1/σ² + λ)``,
    ``x ← clip(x - μ [Fᵀ(F(x) - y)/σ² + λ (x - f(x))], 0, 255)``. Both start at
    ``x = y``. Defaults are the published ones for a uniform blur with noise
    ``σ = √2`` (``λ = 0.02``, ``σ_f = 3.25``; 200 fixed-point or 1500 descent steps).

    Args:
        y: Blurry images in ``[0, 1]``, grey or RGB (RGB: luma restored, chroma copied).
        psf: Kernel ``(h, w)`` or a spec such as ``"box:9"``.
        method: ``"fixed-point"`` or ``"steepest-descent"``.
        lam: Prior weight ``λ``.
        sigma: Noise standard deviation ``σ`` assumed by the data term (0..255).
        denoiser_sigma: Strength ``σ_f`` given to the denoiser (0..255).
        iterations: Iteration count; ``None`` for the method's default.
        denoiser: ``"guided"`` (self-guided filter), ``"nlm"`` (non-local means) or
            a callable ``f(x, σ_f)`` on the 0..255 scale.
        padding: Working domain, i.e. the boundary model assumed (see
            :mod:`defocus.operators.domain`); the default ``"mirror"`` is exact for
            ``"reflect-101"`` blurs with PSFs symmetric in each axis.

    Returns:
        The restored images in ``[0, 1]`` (steepest descent clips; fixed point does not).

    Shape:
        ``(B, 1 or 3, H, W) -> (B, 1 or 3, H, W)``.
    """
    check_observation(y)
    if iterations is not None:
        check_iterations(iterations)
    if y.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {y.shape[1]}")
    ycc = rgb_to_ycbcr(y) if y.shape[1] == 3 else y
    luma = (
        red_luma(
            ycc[:, :1] * _PEAK,
            psf,
            method,
            lam,
            sigma,
            denoiser_sigma,
            iterations,
            denoiser,
            padding,
        )
        / _PEAK
    )
    if y.shape[1] == 1:
        return luma
    return ycbcr_to_rgb(torch.cat((luma, ycc[:, 1:]), dim=1))
