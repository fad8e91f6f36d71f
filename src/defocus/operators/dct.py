"""DCT-II and its inverse via the FFT, and the DCT eigenvalues of symmetric blurs.

A blur by a kernel symmetric in each axis, with half-sample symmetric boundaries (the
image mirrored about its edges, ``x | flip(x)``), is diagonalised by the 2-D DCT-II
(Ng, Chan & Tang 1999): it multiplies coefficient ``(k, l)`` by
``Σ_m Σ_n h[m, n] cos(π k m / H) cos(π l n / W)``. Deconvolving there equals
deconvolving the ``(2H, 2W)`` symmetric extension with FFTs, at a quarter of the size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def dct(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Unnormalised DCT-II along ``dim``: ``X[k] = 2 Σ_n x[n] cos(π k (2n + 1) / 2N)``.

    Equals ``scipy.fft.dct(x, type=2, axis=dim)``; computed with one complex FFT of
    length ``N`` (Makhoul 1980).

    Shape:
        Any; the result has the shape of ``x``.
    """
    x = x.movedim(dim, -1)
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    k = torch.arange(n, dtype=x.dtype, device=x.device)
    twiddle = torch.polar(torch.full_like(k, 2.0), -math.pi * k / (2 * n))
    return (torch.fft.fft(v) * twiddle).real.movedim(-1, dim)


def idct(c: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Inverse of :func:`dct` along ``dim`` (``scipy.fft.idct(c, type=2, axis=dim)``).

    Shape:
        Any; the result has the shape of ``c``.
    """
    c = c.movedim(dim, -1)
    n = c.shape[-1]
    k = torch.arange(n, dtype=c.dtype, device=c.device)
    mirrored = torch.cat([torch.zeros_like(c[..., :1]), c[..., 1:].flip(-1)], dim=-1)
    spectrum = torch.complex(c, -mirrored) * torch.polar(
        0.5 * torch.ones_like(k), math.pi * k / (2 * n)
    )
    v = torch.fft.ifft(spectrum).real
    x = torch.empty_like(v)
    half = (n + 1) // 2
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x.movedim(-1, dim)


CHUNK_ELEMENTS = 1 << 22
"""Large 2-D transforms run their 1-D passes on slices of about this many elements."""


def _chunked(
    transform: Callable[[torch.Tensor, int], torch.Tensor], x: torch.Tensor, dim: int
) -> torch.Tensor:
    """``transform(x, dim)`` for ``dim`` in {-2, -1}, on slices along the other axis.

    Bounds the FFT's complex temporaries to :data:`CHUNK_ELEMENTS` for large images.
    """
    other = -1 if dim == -2 else -2
    length = x.shape[other]
    step = max(1, CHUNK_ELEMENTS * length // max(x.numel(), 1))
    if step >= length:
        return transform(x, dim)
    out = torch.empty_like(x)
    for start in range(0, length, step):
        size = min(step, length - start)
        out.narrow(other, start, size).copy_(transform(x.narrow(other, start, size), dim))
    return out


def dct2(x: torch.Tensor) -> torch.Tensor:
    """2-D :func:`dct` over the last two dimensions (in slices for large images).

    Shape:
        ``(..., H, W) -> (..., H, W)``.
    """
    return _chunked(dct, _chunked(dct, x, -1), -2)


def idct2(c: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`dct2`.

    Shape:
        ``(..., H, W) -> (..., H, W)``.
    """
    return _chunked(idct, _chunked(idct, c, -2), -1)


def symmetric_eigenvalues(
    kernel: torch.Tensor, size: tuple[int, int], columns: slice | None = None
) -> torch.Tensor:
    """DCT-II eigenvalues of the blur by centred kernels symmetric in each axis.

    ``λ[k, l] = Σ_m Σ_n h[m, n] cos(π k m / H) cos(π l n / W)`` with ``m, n`` the tap
    offsets from the centre.

    Args:
        kernel: Odd-sized kernels, symmetric about their centre row and column.
        size: ``(H, W)`` of the images.
        columns: Only these frequency columns ``l`` (a step-1 slice), e.g. to filter a
            large spectrum in column slices without a full-size eigenvalue array.

    Shape:
        ``(..., h, w) -> (..., H, W)`` (``W`` the length of ``columns`` when given).
    """
    height, width = size
    h, w = kernel.shape[-2:]

    def cosines(length: int, taps: int, rows: slice) -> torch.Tensor:
        k = torch.arange(length, dtype=kernel.dtype, device=kernel.device)[rows]
        m = torch.arange(taps, dtype=kernel.dtype, device=kernel.device) - taps // 2
        return torch.cos(math.pi * k[:, None] * m[None, :] / length)

    everything = slice(None)
    return cosines(height, h, everything) @ kernel @ cosines(width, w, columns or everything).T
