"""Wiener–Hunt deconvolution with an identity or Laplacian regulariser."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from defocus.classical.noise_estimate import noise_to_signal_ratio
from defocus.classical.operators import (
    Domain,
    FourierBlur,
    as_batch_parameter,
    check_observation,
    check_positive,
)
from defocus.degrade.blur import as_psf_tensor
from defocus.degrade.fft import psf_to_otf

Regulariser = Literal["identity", "laplacian"]
BALANCE_RULES = ("auto", "gcv", "nsr")
LAPLACIAN = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))
"""The 5-point Laplacian, the default regulariser ``D`` of Wiener–Hunt deconvolution."""
# GCV search: a log grid of balances, then a finer one between the minimum's neighbours.
_GCV_GRID = torch.logspace(-8.0, 2.0, 51, dtype=torch.float64)
_GCV_REFINE = 17


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


def onesided_weights(size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """How many full-spectrum frequencies each ``rfft2`` column stands for (1 or 2).

    Shape:
        ``(W // 2 + 1,)`` for ``size = (H, W)``.
    """
    width = size[1]
    weights = torch.full((width // 2 + 1,), 2.0, dtype=like.dtype, device=like.device)
    weights[0] = 1.0
    if width % 2 == 0:
        weights[-1] = 1.0
    return weights


def gcv_balance(
    spectrum: torch.Tensor,
    otf_power: torch.Tensor,
    penalty_power: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """Balance ``λ`` minimising generalised cross-validation, per image and channel.

    Galatsanos & Katsaggelos (1992): with the influence ``A_λ = |K|² / (|K|² + λ|D|²)``,
    ``GCV(λ) = mean_f |(1 - A_λ) Y|² / (mean_f (1 - A_λ))²`` over the full spectrum of
    the working domain. It is minimised over a log grid ``10⁻⁸ … 10²`` (51 values), then
    over a finer log grid (17 values) between the coarse minimum's neighbours.

    Args:
        spectrum: ``rfft2`` of the (padded) observation.
        otf_power: ``|K|²`` on the same grid.
        penalty_power: ``|D|²`` (see :func:`regulariser_power`).
        size: ``(H, W)`` of the domain (to weight the one-sided spectrum).

    Returns:
        The chosen balance.

    Shape:
        ``spectrum (B, C, H, W // 2 + 1)``, ``otf_power`` and ``penalty_power``
        broadcasting to it ``-> (B, C)``.
    """
    real = spectrum.real.dtype
    weights = onesided_weights(size, spectrum.real)
    data_power = spectrum.abs().square() * weights
    batch = spectrum.shape[:2]
    total = weights.sum() * size[0]

    def gcv(lam: torch.Tensor) -> torch.Tensor:
        # residual filter 1 - A_λ = λ|D|² / (|K|² + λ|D|²); lam broadcasts to (B, C, 1, 1)
        damped = lam * penalty_power
        residual = damped / (otf_power + damped).clamp_min(torch.finfo(real).tiny)
        numerator = (residual.square() * data_power).sum(dim=(-2, -1)) / total
        trace = (residual * weights).expand(*batch, *residual.shape[-2:]).sum(dim=(-2, -1))
        return numerator / (trace / total).square().clamp_min(torch.finfo(real).tiny)

    def search(grid: torch.Tensor) -> torch.Tensor:
        # grid (G, B, C): candidates per image and channel; returns the best index (B, C)
        scores = torch.stack([gcv(lam[..., None, None]) for lam in grid])
        return scores.argmin(dim=0)

    coarse = _GCV_GRID.to(device=spectrum.device, dtype=real)
    best = search(coarse[:, None, None].expand(-1, *batch))
    low = coarse[(best - 1).clamp_min(0)].log()
    high = coarse[(best + 1).clamp_max(len(coarse) - 1)].log()
    steps = torch.linspace(0.0, 1.0, _GCV_REFINE, dtype=real, device=spectrum.device)
    fine = (low + steps[:, None, None] * (high - low)).exp()
    return fine.gather(0, search(fine)[None]).squeeze(0)


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
    op = FourierBlur(psf, yp.shape[-2:])
    power = regulariser_power(regulariser, yp.shape[-2:], y)
    return gcv_balance(op.spectrum(yp), op.otf.abs().square(), power, op.size)


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
        padding: Working domain: ``"mirror"`` (default; whole-image mirror extension,
            exact for reflect-101 blurs with symmetric PSFs, 4x the FFT work),
            ``"reflect"``, ``"replicate"``, ``"zeros"`` (margins of one PSF size) or
            ``"circular"`` (none); see :meth:`defocus.classical.operators.Domain.for_psf`.

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
    op = FourierBlur(k, yp.shape[-2:])
    spectrum = op.spectrum(yp)
    otf_power = op.otf.abs().square()
    power = regulariser_power(regulariser, yp.shape[-2:], y)
    lam = as_batch_parameter(balance, y)
    return domain.crop(op.image(spectrum * op.otf.conj() / (otf_power + lam * power)))


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
