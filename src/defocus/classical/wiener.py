"""Wiener–Hunt deconvolution with an identity or Laplacian regulariser."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from defocus.classical.gcv import gcv_balance
from defocus.classical.noise_estimate import noise_to_signal_ratio
from defocus.classical.operators import as_batch_parameter, check_observation, check_positive
from defocus.degrade.blur import as_psf_tensor
from defocus.operators.blur import BlurOperator
from defocus.operators.domain import Domain
from defocus.operators.fourier import psf_to_otf

Regulariser = Literal["identity", "laplacian"]
BALANCE_RULES = ("auto", "gcv", "nsr")
LAPLACIAN = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))
"""The 5-point Laplacian, the default regulariser ``D`` of Wiener–Hunt deconvolution."""


def regulariser_power(regulariser: str, size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """``|D|²`` on the ``rfft2`` grid: 1 (identity) or the squared 5-point Laplacian OTF.

    Shape:
        Result broadcasts to ``(B, C, H, W // 2 + 1)``.
    """
    if regulariser == "identity":
        return torch.ones((), dtype=like.dtype, device=like.device)
    if regulariser == "laplacian":
        laplacian = torch.tensor(LAPLACIAN, dtype=like.dtype, device=like.device)
        return psf_to_otf(laplacian, size, onesided=True, fold=True).abs().square()
    raise ValueError(f"regulariser must be 'identity' or 'laplacian'; got {regulariser!r}")


def gcv_choice(y: torch.Tensor, psf: torch.Tensor, regulariser: Regulariser) -> torch.Tensor:
    """GCV balance of :func:`wiener`, always chosen on the mirror domain.

    There the periodic blur is exactly the (reflect-101) blur of the image for
    centro-symmetric PSFs, so the residuals GCV sees are noise and image, not seams:
    on PSF-sized margins (``"reflect"``, ``"zeros"``) or periodic boundaries the
    border mismatch makes GCV pick balances 10-100x too small.

    Args:
        y: Observed images.
        psf: Kernel(s) as a tensor of the images' dtype.
        regulariser: ``"identity"`` or ``"laplacian"``.

    Shape:
        ``y (B, C, H, W)``, ``psf (B or 1, C or 1, h, w) -> (B, C)``.
    """
    domain = Domain.for_psf(y.shape[-2:], psf.shape[-2:], "mirror")
    yp = domain.pad(y)
    size = (yp.shape[-2], yp.shape[-1])
    otf = BlurOperator(psf, "circular").transfer_function(size)
    power = regulariser_power(regulariser, size, y)
    return gcv_balance(torch.fft.rfft2(yp), otf.abs().square(), power, size)


def wiener(
    y: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    balance: float | torch.Tensor | str = "auto",
    regulariser: Regulariser = "laplacian",
    padding: str = "mirror",
) -> torch.Tensor:
    """Wiener–Hunt deconvolution ``X = conj(K) Y / (|K|² + λ |D|²)``.

    With ``padding="circular"`` this is exactly ``skimage.restoration.wiener(y, psf,
    balance, reg=R, clip=False)`` (``R`` a centred delta for ``"identity"``; the default
    Laplacian for ``"laplacian"``). Other paddings extend the image (see ``padding``)
    first and crop the result, which removes wrap-around ringing at the borders.

    Args:
        y: Blurry images (any value scale).
        psf: Kernel ``(h, w)`` (also per image ``(B, h, w)`` or per channel
            ``(B, C, h, w)``) or a spec such as ``"disk:3"``; centred at ``(h//2, w//2)``.
        balance: Noise-to-signal balance ``λ`` (scalar, ``(B,)`` or ``(B, C)``), or a
            rule choosing it per image and channel: ``"gcv"`` (generalised
            cross-validation, :func:`gcv_choice`; near the PSNR-best balance with the
            Laplacian regulariser, too small for noisy images with ``"identity"``), ``"auto"``
            (the same as ``"gcv"``; until 2026-11 ``"auto"`` meant ``"nsr"``) or
            ``"nsr"``: ``λ = σ̂² / var(y)``, ``σ̂`` Immerkær's noise estimate
            (floored at ``1e-6``; far too small for noisy or 8-bit images).
        regulariser: ``"laplacian"`` (default; the 5-point Laplacian, ``|D|²`` growing
            with frequency like natural images' noise-to-signal ratio) or ``"identity"``
            (``|D| = 1``).
        padding: Working domain, i.e. the boundary model assumed (see
            :mod:`defocus.operators.domain`): ``"mirror"`` (default; the
            ``"reflect-101"`` boundary solved exactly on the whole-image mirror
            extension for PSFs symmetric in each axis, 4x the FFT work),
            ``"symmetric"`` (likewise exact for the half-sample boundary),
            ``"reflect-101"`` (alias ``"reflect"``), ``"replicate"``, ``"zeros"``
            (margins of one PSF size filled by that boundary) or ``"circular"``.

    Returns:
        The restored images, not clipped.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if isinstance(balance, str) and balance not in BALANCE_RULES:
        raise ValueError(
            f"balance must be a number, a tensor or one of {', '.join(BALANCE_RULES)}; "
            f"got {balance!r}"
        )
    check_observation(y)
    k = as_psf_tensor(psf, y)
    check_observation(y, tuple(k.shape))
    if isinstance(balance, str):
        balance = noise_to_signal_ratio(y) if balance == "nsr" else gcv_choice(y, k, regulariser)
    else:
        check_positive("balance", balance)
    domain = Domain.for_psf(y.shape[-2:], k.shape[-2:], padding)
    yp = domain.pad(y)
    size = (yp.shape[-2], yp.shape[-1])
    otf = BlurOperator(k, "circular").transfer_function(size)  # the periodic blur on the domain
    power = regulariser_power(regulariser, size, y)
    lam = as_batch_parameter(balance, y)
    restored = torch.fft.rfft2(yp) * wiener_hunt_filter(otf, otf.abs().square(), lam, power)
    return domain.crop(torch.fft.irfft2(restored, s=size))


def wiener_hunt_filter(
    eigenvalues: torch.Tensor,
    power: torch.Tensor,
    balance: torch.Tensor,
    penalty_power: torch.Tensor,
) -> torch.Tensor:
    """The Wiener–Hunt solution operator ``(AᵀA + λDᵀD)⁻¹Aᵀ`` where ``A`` and ``D`` are diagonal.

    ``conj(K) / (|K|² + λ|D|²)`` per coefficient: in the DFT for circular blurs (``K``
    the OTF) and in the DCT-II for symmetric blurs with symmetric boundaries (``K``
    real). Multiply the observation's coefficients by it. The one solver of Wiener
    deconvolution and of the Wiener bank (:mod:`defocus.models.wiener_bank`).

    Args:
        eigenvalues: ``K``, the blur's eigenvalues (complex or real).
        power: ``|K|²``.
        balance: ``λ``, broadcasting to the coefficients.
        penalty_power: ``|D|²``.

    Shape:
        All broadcast to the coefficients' shape, e.g. ``(B, C, H, W // 2 + 1)``.
    """
    return eigenvalues.conj() / (power + balance * penalty_power)


class Wiener(nn.Module):
    """Module form of :func:`wiener` with fixed parameters.

    Args:
        balance: ``λ``, ``"auto"``, ``"gcv"`` or ``"nsr"``.
        regulariser: ``"laplacian"`` or ``"identity"``.
        padding: Boundary rule.

    Shape:
        ``(B, C, H, W), PSF -> (B, C, H, W)``.
    """

    def __init__(
        self,
        balance: float | str = "auto",
        regulariser: Regulariser = "laplacian",
        padding: str = "mirror",
    ) -> None:
        super().__init__()
        self.balance = balance
        self.regulariser: Regulariser = regulariser
        self.padding = padding

    def forward(self, y: torch.Tensor, psf: torch.Tensor | np.ndarray | str) -> torch.Tensor:
        """Deconvolve ``y`` blurred by ``psf``."""
        return wiener(y, psf, self.balance, self.regulariser, self.padding)

    def extra_repr(self) -> str:
        """Show the parameters."""
        return (
            f"balance={self.balance!r}, regulariser={self.regulariser!r}, padding={self.padding!r}"
        )
