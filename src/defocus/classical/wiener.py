"""Wiener–Hunt deconvolution with an identity or Laplacian regulariser."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from defocus.classical.noise_estimate import noise_to_signal_ratio
from defocus.classical.operators import Domain, FourierBlur, as_batch_parameter
from defocus.degrade.blur import as_psf_tensor
from defocus.degrade.fft import psf_to_otf

Regulariser = Literal["identity", "laplacian"]
_LAPLACIAN = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))


def regulariser_power(regulariser: str, size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """``|D|²`` on the ``rfft2`` grid: 1 (identity) or the squared 5-point Laplacian OTF.

    Shape:
        Result broadcasts to ``(B, C, H, W // 2 + 1)``.
    """
    if regulariser == "identity":
        return torch.ones((), dtype=like.dtype, device=like.device)
    if regulariser == "laplacian":
        laplacian = torch.tensor(_LAPLACIAN, dtype=like.dtype, device=like.device)
        return psf_to_otf(laplacian, size, onesided=True).abs().square()
    raise ValueError(f"regulariser must be 'identity' or 'laplacian'; got {regulariser!r}")


def wiener(
    y: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    balance: float | torch.Tensor | str = "auto",
    regulariser: Regulariser = "identity",
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
        balance: Noise-to-signal balance ``λ`` (scalar, ``(B,)`` or ``(B, C)``), or
            ``"auto"``: ``λ = σ̂² / var(y)`` per image and channel, ``σ̂`` Immerkær's
            noise estimate (floored at ``1e-6``).
        regulariser: ``"identity"`` (``|D| = 1``) or ``"laplacian"``.
        padding: Working domain: ``"mirror"`` (default; whole-image mirror extension,
            exact for reflect-101 blurs with symmetric PSFs, 4x the FFT work),
            ``"reflect"``, ``"replicate"``, ``"zeros"`` (margins of one PSF size) or
            ``"circular"`` (none); see :meth:`defocus.classical.operators.Domain.for_psf`.

    Returns:
        The restored images, not clipped.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    if isinstance(balance, str):
        if balance != "auto":
            raise ValueError(f"balance must be a number, a tensor or 'auto'; got {balance!r}")
        balance = noise_to_signal_ratio(y)
    k = as_psf_tensor(psf, y)
    domain = Domain.for_psf(y.shape[-2:], k.shape[-2:], padding)
    yp = domain.pad(y)
    op = FourierBlur(k, yp.shape[-2:])
    lam = as_batch_parameter(balance, y)
    power = regulariser_power(regulariser, yp.shape[-2:], y)
    gain = op.otf.conj() / (op.otf.abs().square() + lam * power)
    return domain.crop(op.image(op.spectrum(yp) * gain))


class Wiener(nn.Module):
    """Module form of :func:`wiener` with fixed parameters.

    Args:
        balance: ``λ`` or ``"auto"``.
        regulariser: ``"identity"`` or ``"laplacian"``.
        padding: Boundary rule.

    Shape:
        ``(B, C, H, W), PSF -> (B, C, H, W)``.
    """

    def __init__(
        self,
        balance: float | str = "auto",
        regulariser: Regulariser = "identity",
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
