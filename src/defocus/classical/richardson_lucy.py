"""Richardson–Lucy deconvolution, batched, with direct (small PSF) or FFT blur operators."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from defocus.classical.operators import check_observation
from defocus.degrade.blur import as_psf_tensor
from defocus.limits import check_iterations
from defocus.operators.blur import BlurOperator, is_centro_symmetric
from defocus.operators.domain import Domain

Operator = Callable[[torch.Tensor], torch.Tensor]


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


def iteration_operators(
    psf: torch.Tensor, y: torch.Tensor, padding: str, method: str = "auto"
) -> tuple[Domain, Operator, Operator]:
    """Working domain, blur and adjoint of an iterative method (Richardson–Lucy).

    On a domain with margins (see :class:`defocus.operators.domain.Domain`) the blur is
    the circular one there. Two cases need no margins at all: ``"zeros"``, whose blur
    and exact adjoint act on the image itself, and ``"mirror"`` with a PSF symmetric in
    each axis when convolving directly (not ``method="fft"``): the iterates stay
    mirror-symmetric, and the circular blur on the mirror domain and its adjoint are
    then both the ``"reflect-101"`` blur of the image.

    Args:
        psf: Kernel(s) ``(B or 1, C or 1, h, w)`` in ``y``'s dtype and device.
        y: The observed images ``(B, C, H, W)``.
        padding: A working domain (:data:`defocus.operators.domain.DOMAINS`).
        method: As for :class:`defocus.operators.blur.BlurOperator`.

    Returns:
        The domain, ``A`` and ``Aᵀ`` on it.
    """
    if padding == "zeros":
        op = BlurOperator(psf, "zeros", method)
        return Domain("zeros"), op.forward, op.adjoint
    op = BlurOperator(psf, "reflect-101", method)
    if padding == "mirror" and op.path(y) != "fft" and is_centro_symmetric(psf):
        return Domain("reflect-101"), op.forward, op.forward
    op = BlurOperator(psf, "circular", method)
    return Domain.for_psf(y.shape[-2:], psf.shape[-2:], padding), op.forward, op.adjoint


def richardson_lucy(
    y: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    iterations: int = 30,
    padding: str = "mirror",
    init: str | float | torch.Tensor = "observed",
    eps: float = 1e-12,
    method: str = "auto",
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
        padding: Working domain, i.e. the boundary model assumed
            (:mod:`defocus.operators.domain`): ``"mirror"`` (default; the
            ``"reflect-101"`` boundary, exact for PSFs symmetric in each axis; 4x the
            work, except when convolving directly with a symmetric PSF, where it costs
            nothing), ``"symmetric"``, ``"reflect-101"`` (alias ``"reflect"``),
            ``"replicate"``, ``"zeros"`` (the zero boundary, exactly, on the image
            itself) or ``"circular"``; see :func:`iteration_operators`.
        init: ``"observed"`` (start from ``y``), a constant, or a start image.
        eps: Added to ``F(x)`` before dividing.
        method: ``"auto"`` (direct convolution for PSFs of at most
            :data:`~defocus.operators.blur.DIRECT_MAX_TAPS` taps, OpenCV on CPU, else
            FFT), ``"fft"``, ``"opencv"`` or ``"direct"`` (``conv2d``).

    Returns:
        The restored images (not clipped).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    check_observation(y)
    k = as_psf_tensor(psf, y)
    check_observation(y, tuple(k.shape))
    check_iterations(iterations)
    domain, forward, adjoint = iteration_operators(k, y, padding, method)
    yp = domain.pad(y)
    x = domain.pad(initial_estimate(y, init))
    # In place (about 20% faster) unless autograd has to record the iterations.
    inplace = not (torch.is_grad_enabled() and (yp.requires_grad or x.requires_grad))
    for _ in range(int(iterations)):
        blurred = forward(x).add_(eps)
        if inplace:
            x.mul_(adjoint(torch.div(yp, blurred, out=blurred)))
        else:
            x = x * adjoint(yp / blurred)
    return domain.crop(x)


class RichardsonLucy(nn.Module):
    """Module form of :func:`richardson_lucy`.

    Args:
        iterations: Number of iterations.
        padding: Boundary rule.
        init: ``"observed"``, a constant or a start image.
        eps: Added to the denominator.
        method: ``"auto"``, ``"fft"``, ``"opencv"`` or ``"direct"``.

    Shape:
        ``(B, C, H, W), PSF -> (B, C, H, W)``.
    """

    def __init__(
        self,
        iterations: int = 30,
        padding: str = "mirror",
        init: str | float = "observed",
        eps: float = 1e-12,
        method: str = "auto",
    ) -> None:
        super().__init__()
        self.iterations = iterations
        self.padding = padding
        self.init = init
        self.eps = eps
        self.method = method

    def forward(self, y: torch.Tensor, psf: torch.Tensor | np.ndarray | str) -> torch.Tensor:
        """Deconvolve ``y`` blurred by ``psf``."""
        return richardson_lucy(
            y, psf, self.iterations, self.padding, self.init, self.eps, self.method
        )

    def extra_repr(self) -> str:
        """Show the parameters."""
        return (
            f"iterations={self.iterations}, padding={self.padding!r}, init={self.init!r}, "
            f"method={self.method!r}"
        )
