"""Richardson–Lucy deconvolution, batched, with FFT operators built once per call."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from defocus.classical.operators import Domain, FourierBlur, as_psf


def initial_estimate(y: torch.Tensor, init: str | float | torch.Tensor) -> torch.Tensor:
    """Starting image of an iterative method: ``"observed"`` (``y``), a constant, or a tensor.

    Shape:
        ``y``: ``(B, C, H, W)``; result ``(B, C, H, W)`` (a tensor ``init`` is broadcast).
    """
    if isinstance(init, str):
        if init != "observed":
            raise ValueError(f"init must be 'observed', a number or a tensor; got {init!r}")
        return y.clone()
    if isinstance(init, torch.Tensor):
        return init.to(dtype=y.dtype, device=y.device).expand_as(y).clone()
    return torch.full_like(y, float(init))


def richardson_lucy(
    y: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    iterations: int = 30,
    padding: str = "mirror",
    init: str | float | torch.Tensor = "observed",
    eps: float = 1e-12,
) -> torch.Tensor:
    """Richardson–Lucy iterations ``x ← x · Fᵀ( y / (F(x) + ε) )``.

    The start image is extended to the working domain with the same boundary rule as
    ``y``; with ``padding="zeros"`` and ``init=0.5`` the result equals
    ``skimage.restoration.richardson_lucy(y, psf, iterations, clip=False)`` for
    odd-sized PSFs (scipy's ``mode="same"`` puts the centre of an even-sized kernel
    one tap earlier than this project's convention).

    Args:
        y: Blurry images, non-negative.
        psf: Kernel ``(h, w)``, ``(B, h, w)``, ``(B, C, h, w)`` or a spec (``"disk:3"``).
        iterations: Number of multiplicative updates.
        padding: Working domain: ``"mirror"`` (default; whole-image mirror extension,
            exact for reflect-101 blurs with symmetric PSFs, 4x the FFT work),
            ``"reflect"``, ``"replicate"``, ``"zeros"`` (margins of one PSF size) or
            ``"circular"`` (none); see :meth:`defocus.classical.operators.Domain.for_psf`.
        init: ``"observed"`` (start from ``y``), a constant, or a start image.
        eps: Added to ``F(x)`` before dividing.

    Returns:
        The restored images (not clipped).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    k = as_psf(psf, y)
    domain = Domain.for_psf(y.shape[-2:], k.shape[-2:], padding)
    yp = domain.pad(y)
    x = domain.pad(initial_estimate(y, init))
    op = FourierBlur(k, yp.shape[-2:])
    for _ in range(int(iterations)):
        x = x * op.adjoint(yp / (op.forward(x) + eps))
    return domain.crop(x)


class RichardsonLucy(nn.Module):
    """Module form of :func:`richardson_lucy`.

    Args:
        iterations: Number of iterations.
        padding: Boundary rule.
        init: ``"observed"``, a constant or a start image.
        eps: Added to the denominator.

    Shape:
        ``(B, C, H, W), PSF -> (B, C, H, W)``.
    """

    def __init__(
        self,
        iterations: int = 30,
        padding: str = "mirror",
        init: str | float = "observed",
        eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.iterations = iterations
        self.padding = padding
        self.init = init
        self.eps = eps

    def forward(self, y: torch.Tensor, psf: torch.Tensor | np.ndarray | str) -> torch.Tensor:
        """Deconvolve ``y`` blurred by ``psf``."""
        return richardson_lucy(y, psf, self.iterations, self.padding, self.init, self.eps)

    def extra_repr(self) -> str:
        """Show the parameters."""
        return f"iterations={self.iterations}, padding={self.padding!r}, init={self.init!r}"
