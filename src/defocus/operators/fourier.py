"""Fourier-domain helpers shared by blur and by FFT-based restoration (Wiener, RED, mLM).

Conventions, used throughout the project:

- A PSF ``k`` of shape ``(h, w)`` has its centre at index ``(h // 2, w // 2)``; this is
  the middle tap for odd sizes.
- ``psf_to_otf(k, (H, W))`` is the optical transfer function: the 2-D DFT of ``k``
  zero-padded to ``(H, W)`` and circularly shifted so that the centre tap sits at
  index ``(0, 0)``. Then, for an ``(H, W)`` image ``x``,
  ``ifft2(psf_to_otf(k, (H, W)) * fft2(x)).real`` is the *circular* convolution
  ``(k ⊛ x)[i] = Σ_j k[j] x[(i - j + c) mod (H, W)]`` (``c`` the centre), i.e.
  exactly :func:`defocus.degrade.blur` with ``padding="circular"``; multiplying by
  ``conj(otf)`` instead applies the adjoint (correlation with ``k``).
- ``onesided=True`` returns the half spectrum of :func:`torch.fft.rfft2` (last axis of
  length ``W // 2 + 1``), to be paired with ``rfft2``/``irfft2(..., s=(H, W))``; this
  halves the work for real images.
"""

from __future__ import annotations

from collections.abc import Sequence

import scipy.fft
import torch
import torch.nn.functional as F


def psf_to_otf(
    psf: torch.Tensor, shape: Sequence[int], *, onesided: bool = False, fold: bool = False
) -> torch.Tensor:
    """Optical transfer function of a PSF centred at the origin, for images of ``shape``.

    Args:
        psf: Kernel(s); any leading batch dimensions are kept, so a batch of PSFs
            gives a batch of OTFs that broadcasts against ``(B, C, H, W)`` spectra.
        shape: ``(H, W)`` of the images the OTF is applied to; at least the PSF's
            size in each dimension unless ``fold``.
        onesided: Return the ``rfft2`` half spectrum instead of the full ``fft2``.
        fold: Fold a PSF larger than ``shape`` onto it (taps landing on the same
            sample modulo the size add up): the exact circular operator of that size,
            e.g. the 3x3 Laplacian on a one-row image becomes the 1-D ``[-1, 2, -1]``.

    Returns:
        Complex OTF (complex64 for float32 PSFs, complex128 for float64).

    Shape:
        ``psf``: ``(..., h, w)`` -> ``(..., H, W)``, or ``(..., H, W // 2 + 1)`` when
        ``onesided``.

    Raises:
        ValueError: If the PSF is larger than ``shape`` and ``fold`` is false.
    """
    height, width = int(shape[0]), int(shape[1])
    h, w = psf.shape[-2:]
    if (h > height or w > width) and not fold:
        raise ValueError(f"PSF of size {h}x{w} does not fit in an image of size {height}x{width}")
    if h > height or w > width:
        rows = (torch.arange(h, device=psf.device) - h // 2) % height
        cols = (torch.arange(w, device=psf.device) - w // 2) % width
        index = (rows[:, None] * width + cols[None, :]).reshape(-1)
        flat = psf.new_zeros(*psf.shape[:-2], height * width)
        flat = flat.index_add(-1, index, psf.reshape(*psf.shape[:-2], h * w))
        padded = flat.reshape(*psf.shape[:-2], height, width)
    else:
        padded = F.pad(psf, (0, width - w, 0, height - h))
        padded = torch.roll(padded, shifts=(-(h // 2), -(w // 2)), dims=(-2, -1))
    if onesided:
        return torch.fft.rfft2(padded)
    return torch.fft.fft2(padded)


def fast_size(n: int) -> int:
    """Smallest length ``>= n`` whose FFT is fast (a product of 2, 3, 5 and 7)."""
    return int(scipy.fft.next_fast_len(int(n), real=True))


def circular_convolve(x: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
    """Circular (periodic) convolution of real images with a PSF, via ``rfft2``.

    Args:
        x: Images.
        psf: Kernel(s) broadcastable to ``x``'s leading dimensions, no larger than the
            image, centred at ``(h // 2, w // 2)``.

    Returns:
        ``k ⊛ x`` with periodic boundaries, same dtype as ``x``.

    Shape:
        ``x``: ``(..., H, W)``; ``psf``: ``(..., h, w)``; result ``(..., H, W)``.
    """
    size = x.shape[-2:]
    otf = psf_to_otf(psf.to(x.dtype), size, onesided=True)
    return torch.fft.irfft2(torch.fft.rfft2(x) * otf, s=size)
