"""Convolution of image batches with spatially constant PSFs (string specs accepted).

The operator itself (boundary models, direct/FFT/DCT paths, the adjoint) is
:class:`defocus.operators.blur.BlurOperator`; this module adds PSF parsing and the
batch checks of a user-facing function.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from defocus.checks import check_batch
from defocus.degrade.kernels import parse_psf
from defocus.operators import blur as operator
from defocus.operators.blur import BlurOperator, Method
from defocus.operators.boundary import ALIASES, BOUNDARIES, boundary_indices
from defocus.operators.boundary import extend as pad_image

PADDINGS: tuple[str, ...] = (*BOUNDARIES, *ALIASES)
"""The boundary models' names (:mod:`defocus.operators.boundary`) and aliases."""
METHODS: tuple[str, ...] = ("auto", "direct", "fft", "opencv")
__all__ = [
    "PADDINGS",
    "Blur",
    "as_psf_tensor",
    "blur",
    "boundary_indices",
    "convolve_valid",
    "pad_image",
]


def as_psf_tensor(psf: torch.Tensor | np.ndarray | str, x: torch.Tensor) -> torch.Tensor:
    """Bring a PSF (tensor, array or spec such as ``"disk:3"``) to ``x``'s dtype and device.

    Shape:
        ``psf``: ``(h, w)``, ``(B, h, w)`` or ``(B, C, h, w)``; ``x``: ``(B, C, H, W)``;
        result ``(B or 1, C or 1, h, w)``.
    """
    if isinstance(psf, str):
        psf = parse_psf(psf)
    k = torch.as_tensor(psf).to(device=x.device, dtype=x.dtype)
    if k.numel() == 0 or not bool(torch.isfinite(k).all()):
        raise ValueError(f"PSF of shape {tuple(k.shape)} is empty or holds NaN/infinite values")
    batch, channels = x.shape[:2]
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        k = k[:, None]
    if k.ndim != 4 or k.shape[0] not in (1, batch) or k.shape[1] not in (1, channels):
        raise ValueError(
            f"PSF of shape {tuple(psf.shape)} does not fit images of shape {tuple(x.shape)}: "
            "expected (h, w), (B, h, w), (B, 1, h, w) or (B, C, h, w)"
        )
    return k


def blur(
    x: torch.Tensor,
    psf: torch.Tensor | np.ndarray | str,
    padding: str = "reflect",
    method: Method = "auto",
) -> torch.Tensor:
    """Convolve each channel of each image with a PSF (true convolution, kernel flipped).

    The forward map of :class:`defocus.operators.blur.BlurOperator`: the image is
    continued by the boundary model, convolved, and cropped back to its size, so
    ``out[i] = Σ_j psf[j] · x[i - j + c]`` with ``c`` the PSF centre ``(h // 2, w // 2)``
    and ``x`` read through the boundary. This equals ``scipy.ndimage.convolve`` with
    ``mode="mirror"`` (``"reflect-101"``), ``"reflect"`` (``"symmetric"``),
    ``"nearest"``, ``"wrap"`` or ``"constant"`` for odd-sized kernels, and OpenCV's
    ``filter2D`` default border (reflect-101) on the flipped kernel.

    Args:
        x: Images, any number of channels; float dtype.
        psf: One kernel for the whole batch ``(h, w)``; one per image ``(B, h, w)`` or
            ``(B, 1, h, w)``; or one per image and channel ``(B, C, h, w)``. A string
            is parsed with :func:`defocus.degrade.kernels.parse_psf`.
        padding: Boundary model (:mod:`defocus.operators.boundary`):
            ``"reflect-101"`` (alias ``"reflect"``, the default), ``"symmetric"``
            (half-sample), ``"replicate"``, ``"circular"`` or ``"zeros"``. Any kernel
            size works, also larger than the image.
        method: ``"direct"`` (``conv2d``), ``"fft"``, ``"opencv"`` (``cv2.filter2D``:
            CPU float tensors without autograd only), or ``"auto"``: direct for
            kernels of at most :data:`~defocus.operators.blur.DIRECT_MAX_TAPS` taps
            (OpenCV where it applies), FFT beyond. All agree to float rounding.
            Without autograd, images of more than
            :data:`~defocus.operators.blur.BAND_ELEMENTS` elements are processed in
            bands of rows (the same result up to float rounding, bounded temporaries).

    Returns:
        The blurred images, same dtype and device as ``x``.

    Raises:
        TypeError: If ``x`` is not a tensor.
        ValueError: If ``x`` is not a floating-point, non-empty 4-D batch, or the PSF
            does not fit it.

    Shape:
        ``x``: ``(B, C, H, W)`` -> ``(B, C, H, W)``.
    """
    check_batch(x, finite=False)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return BlurOperator(as_psf_tensor(psf, x), padding, method).forward(x)


def convolve_valid(
    xp: torch.Tensor, psf: torch.Tensor | np.ndarray | str, method: Method = "auto"
) -> torch.Tensor:
    """:func:`defocus.operators.blur.convolve_valid` with any PSF :func:`blur` accepts.

    Shape:
        ``(B, C, H + h - 1, W + w - 1) -> (B, C, H, W)`` for an ``(h, w)`` PSF.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return operator.convolve_valid(xp, as_psf_tensor(psf, xp), method)


class Blur(nn.Module):
    """Module form of :func:`blur` with a fixed PSF (stored as a buffer).

    Args:
        psf: Kernel, as accepted by :func:`blur` (a string spec such as ``"disk:3"`` too).
        padding: Boundary rule.
        method: As for :func:`blur`.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(
        self,
        psf: torch.Tensor | np.ndarray | str,
        padding: str = "reflect",
        method: Method = "auto",
    ) -> None:
        super().__init__()
        if isinstance(psf, str):
            psf = parse_psf(psf)
        self.register_buffer("psf", torch.as_tensor(psf, dtype=torch.float64).clone())
        self.padding = padding
        self.method: Method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Blur ``x`` with the stored PSF."""
        return blur(x, self.psf, self.padding, self.method)

    def extra_repr(self) -> str:
        """Show the kernel size and options."""
        return f"psf={tuple(self.psf.shape)}, padding={self.padding!r}, method={self.method!r}"
