"""A bank of Wiener deconvolutions around a blind blur estimate."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from defocus.classical.blind import DISK_RADII, BlurEstimate, disk_bank
from defocus.classical.wiener import LAPLACIAN, wiener_hunt_filter
from defocus.operators.blur import BlurOperator
from defocus.operators.dct import dct2, idct2, symmetric_eigenvalues


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
    time into the result, so memory stays at one result plus one spectrum.

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
    # lazy: one candidate in memory at a time (slice assignment keeps autograd working)
    for channel, piece in enumerate(_candidates(y, psfs, balances)):
        out[:, channel] = piece
    return out


def _candidates(
    y: torch.Tensor, psfs: torch.Tensor, balances: torch.Tensor
) -> Iterator[torch.Tensor]:
    """``y`` then each Wiener candidate of :func:`wiener_bank`, computed on demand."""
    size = (y.shape[-2], y.shape[-1])
    spectrum = dct2(y[:, 0])
    laplacian = torch.tensor(LAPLACIAN, dtype=y.dtype, device=y.device)
    penalty = symmetric_eigenvalues(laplacian, size).square()
    yield y[:, 0]
    for k in range(psfs.shape[1]):
        blur = BlurOperator(psfs[:, k, None].to(y.dtype), "symmetric", "dct")
        eigen = blur.dct_eigenvalues(size)[:, 0]  # (N|1, H, W)
        power = eigen.square()
        for level in range(balances.shape[-1]):
            lam = balances[:, k, level].to(y.dtype)[:, None, None]
            yield idct2(spectrum * wiener_hunt_filter(eigen, power, lam, penalty))


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
