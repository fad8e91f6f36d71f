"""Generalised cross-validation (GCV) of Wiener–Hunt restoration: one routine for all.

Galatsanos & Katsaggelos (1992): with the influence ``A = |K|² / (|K|² + λ|D|²)`` per
frequency, ``GCV(K, λ) = mean_f |(1 - A) Y|² / (mean_f (1 - A))²`` over the full
spectrum of a periodic working domain. :func:`log_gcv` evaluates it for a table of
PSFs and balances; Wiener's balance rule (:func:`gcv_balance`) and the blind blur
estimator (:func:`defocus.classical.blind.gcv_scores`) both call it, each on its own
grid of balances and its own domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

GCV_GRID = tuple(10.0 ** (-8 + i / 5) for i in range(51))
"""Wiener's balance search: 51 log-spaced balances, 1e-8 to 1e2, then a refinement."""
GCV_REFINE = 17
"""Balances of the finer log grid between the coarse minimum's neighbours."""


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


def log_gcv(
    data_power: torch.Tensor,
    otf_power: torch.Tensor,
    penalty_power: torch.Tensor,
    weights: torch.Tensor,
    balances: Sequence[float],
) -> torch.Tensor:
    """``log GCV`` for every image, candidate PSF and balance.

    Args:
        data_power: ``w_f |Y_f|²`` per image over the (flattened) frequencies.
        otf_power: ``|K_f|²`` per candidate PSF.
        penalty_power: ``|D_f|²`` of the regulariser.
        weights: ``w_f``, how many frequencies of the full spectrum each entry stands
            for (e.g. :func:`onesided_weights`), so that sums are over the full spectrum.
        balances: Candidate ``λ``.

    Returns:
        The scores (``-inf``-free: numerator and trace are floored at the dtype's
        smallest normal number).

    Shape:
        ``data_power (N, F)``, ``otf_power (R, F)``, ``penalty_power`` and ``weights``
        ``(F,)`` -> ``(N, R, L)``.
    """
    total = weights.sum()
    tiny = torch.finfo(data_power.dtype).tiny
    scores = []
    for lam in balances:
        damped = lam * penalty_power
        residual = damped / (otf_power + damped).clamp_min(tiny)  # 1 - A, (R, F)
        numerator = data_power @ residual.square().T / total  # (N, R)
        trace = residual @ weights / total  # (R,)
        scores.append(numerator.clamp_min(tiny).log() - 2 * trace.clamp_min(tiny).log())
    return torch.stack(scores, dim=-1)


def gcv_balance(
    spectrum: torch.Tensor,
    otf_power: torch.Tensor,
    penalty_power: torch.Tensor,
    size: tuple[int, int],
    grid: Sequence[float] = GCV_GRID,
    refine: int = GCV_REFINE,
) -> torch.Tensor:
    """Balance ``λ`` minimising :func:`log_gcv`, per image and channel.

    Minimised over ``grid``, then over ``refine`` log-spaced balances between the
    coarse minimum's neighbours.

    Args:
        spectrum: ``rfft2`` of the observation on its working domain.
        otf_power: ``|K|²`` on the same grid (one PSF for all, or one per image and
            channel).
        penalty_power: ``|D|²`` of the regulariser.
        size: ``(H, W)`` of the domain (to weight the one-sided spectrum).
        grid: Coarse balances, increasing.
        refine: Balances of the finer grid.

    Returns:
        The chosen balance.

    Shape:
        ``spectrum (B, C, H, W // 2 + 1)``, ``otf_power`` and ``penalty_power``
        broadcasting to it ``-> (B, C)``.
    """
    batch, channels = spectrum.shape[:2]
    real = spectrum.real
    weights = onesided_weights(size, real).expand(size[0], -1).flatten()
    data = (spectrum.abs().square() * onesided_weights(size, real)).flatten(2)  # (B, C, F)
    otf = otf_power.expand(batch, channels, *otf_power.shape[-2:]).flatten(2)
    penalty = penalty_power.expand(otf_power.shape[-2:]).flatten()
    coarse = torch.tensor(grid, dtype=real.dtype)
    steps = torch.linspace(0.0, 1.0, refine, dtype=real.dtype)
    chosen = torch.empty(batch, channels, dtype=real.dtype)
    for b in range(batch):
        for c in range(channels):
            image, psf = data[b, c][None], otf[b, c][None]
            best = int(log_gcv(image, psf, penalty, weights, grid)[0, 0].argmin())
            low = coarse[max(best - 1, 0)].log()
            high = coarse[min(best + 1, len(grid) - 1)].log()
            fine = (low + steps * (high - low)).exp().tolist()
            scores = log_gcv(image, psf, penalty, weights, fine)[0, 0]
            chosen[b, c] = fine[int(scores.argmin())]
    return chosen.to(spectrum.device)
