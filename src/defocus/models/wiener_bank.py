"""A bank of Wiener deconvolutions around a blind blur estimate."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from defocus.classical.blind import DISK_RADII, BlurEstimate, disk_bank
from defocus.classical.wiener import LAPLACIAN, wiener_hunt_filter
from defocus.operators.dct import CHUNK_ELEMENTS, dct2, idct, symmetric_eigenvalues


def wiener_bank(
    y: torch.Tensor,
    psfs: torch.Tensor,
    balances: torch.Tensor,
    dtype: torch.dtype | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """The image and its Wiener–Hunt deconvolutions (Laplacian regulariser) per PSF and balance.

    Boundaries are half-sample symmetric (the image mirrored about its edges), where a
    symmetric blur is diagonal in the DCT-II (:mod:`defocus.operators.dct`): candidate
    ``(k, l)`` is ``IDCT(λ_k Y / (λ_k² + μ_kl Δ²))`` with ``λ_k`` the DCT eigenvalues of PSF
    ``k``, ``Δ`` those of the 5-point Laplacian and ``μ_kl`` the balance. This equals FFT
    Wiener deconvolution of the ``(2H, 2W)`` symmetric extension (scikit-image's
    ``wiener`` on it, tested) at a quarter of the size. Candidates are computed one at a
    time into the result, in slices (see :func:`_deconvolve_into`), so memory stays at
    the result plus two full-size arrays.

    Args:
        y: Blurry single-channel images.
        psfs: Kernels per image (or one set for all), centred, odd-sized, symmetric in
            each axis.
        balances: ``μ`` per image (or one set), PSF and level (positive).
        dtype: Storage type of the result (e.g. ``torch.float16`` for large images);
            default that of ``y``. Computation is in ``y``'s type.
        out: A tensor of the result's shape to write into (then returned), e.g. a
            view of a larger buffer.

    Returns:
        Channel 0 is ``y``; channel ``1 + k · L + l`` is candidate ``(k, l)``.

    Shape:
        ``y (N, 1, H, W)``, ``psfs (N or 1, K, S, S)``, ``balances (N or 1, K, L)`` ->
        ``(N, 1 + K · L, H, W)``.
    """
    batch, _, height, width = y.shape
    dtype = dtype or y.dtype
    if out is None:
        count = 1 + psfs.shape[1] * balances.shape[-1]
        out = y.new_empty((batch, count, height, width), dtype=dtype)
    out[:, 0] = y[:, 0]
    spectrum = dct2(y[:, 0])
    laplacian = torch.tensor(LAPLACIAN, dtype=y.dtype, device=y.device)
    levels = balances.shape[-1]
    for k in range(psfs.shape[1]):
        psf = psfs[:, k].to(y.dtype)
        for level in range(levels):
            target = out[:, 1 + k * levels + level]
            _deconvolve_into(target, spectrum, psf, balances[:, k, level].to(y.dtype), laplacian)
    return out


def _deconvolve_into(
    target: torch.Tensor,
    spectrum: torch.Tensor,
    psf: torch.Tensor,
    balance: torch.Tensor,
    laplacian: torch.Tensor,
) -> None:
    """Write one Wiener–Hunt candidate of :func:`wiener_bank` into ``target``.

    The filter is built and applied in slices of frequency columns, each inverted along
    the rows into one full-size buffer, which is then inverted along the columns in
    slices of rows written straight into ``target``: besides the spectrum, one
    full-size array in ``spectrum``'s type and slices of :data:`CHUNK_ELEMENTS`
    (in place of the eigenvalues, their square, the penalty, the filter and the
    inverse transform's full-size passes).

    Shape:
        ``target (N, H, W)``, ``spectrum (N, H, W)``, ``psf (N or 1, S, S)``,
        ``balance (N or 1,)``, ``laplacian (3, 3)``.
    """
    count, height, width = spectrum.shape
    size = (height, width)
    rows = torch.empty_like(spectrum)  # per candidate: autograd saves the last one's slices
    lam = balance[:, None, None]
    step = max(1, CHUNK_ELEMENTS // (count * height))
    for start in range(0, width, step):
        columns = slice(start, min(start + step, width))
        eigen = symmetric_eigenvalues(psf, size, columns)
        penalty = symmetric_eigenvalues(laplacian, size, columns).square()
        filtered = spectrum[..., columns] * wiener_hunt_filter(eigen, eigen.square(), lam, penalty)
        rows[..., columns] = idct(filtered, dim=-2)
    step = max(1, CHUNK_ELEMENTS // (count * width))
    for start in range(0, height, step):
        band = slice(start, min(start + step, height))
        target[:, band] = idct(rows[:, band], dim=-1)


class WienerBank(nn.Module):
    """Wiener candidates at disk radii and balances around a :class:`BlurEstimate`.

    Candidate ``(k, l)`` uses the disk of radius ``radii[index + offsets[k]]`` (clamped to
    the table) and the balance ``balance · factors[l]``. There are no parameters; the
    PSF table is a non-persistent buffer (not stored in weights files).

    Args:
        radii: The radius table the estimate indexes (see
            :func:`defocus.classical.blind.estimate_disk_blur`).
        offsets: Steps in the table around the estimated radius.
        factors: Multiples of the estimated balance.

    Attributes:
        candidates: Wiener candidates, ``len(offsets) · len(factors)``.

    Shape:
        ``(N, 1, H, W)`` and an estimate with ``N`` (or 1) entries
        ``-> (N, 1 + candidates, H, W)`` (channel 0: the input).
    """

    def __init__(
        self,
        radii: Sequence[float] = DISK_RADII,
        offsets: Sequence[int] = (-2, -1, 0, 1, 2),
        factors: Sequence[float] = (0.25, 1.0, 4.0),
    ) -> None:
        super().__init__()
        if not offsets or not factors or min(factors) <= 0:
            raise ValueError("offsets and factors must be non-empty, factors positive")
        self.register_buffer("psfs", disk_bank(radii), persistent=False)
        self.register_buffer("offsets", torch.tensor(offsets), persistent=False)
        self.register_buffer("factors", torch.tensor(factors), persistent=False)
        self.candidates = len(offsets) * len(factors)

    def forward(
        self,
        y: torch.Tensor,
        blur: BlurEstimate,
        dtype: torch.dtype | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``y`` and its deconvolutions around ``blur`` (see the class docstring).

        ``dtype`` and ``out`` are passed to :func:`wiener_bank`.
        """
        index = (blur.index[:, None] + self.offsets).clamp(0, len(self.psfs) - 1)  # (N, K)
        balances = blur.balance[:, None, None] * self.factors  # (N, 1, L)
        balances = balances.expand(-1, len(self.offsets), -1)
        return wiener_bank(y, self.psfs[index], balances, dtype, out)
