"""Colour matching of a capture to its ground truth.

Two methods, both vectorised over pixels (numpy), on ``(N, 3)`` arrays of colours:

- :func:`idt_transfer`: Pitié, Kokaram & Dahyot's iterative distribution transfer
  (N-dimensional PDF transfer, ICCV 2005 / CVIU 2007). At each iteration the colours
  of both sets are expressed in a random orthonormal basis and every 1-D marginal of
  the source is mapped onto the target's by quantile matching; the source's 3-D
  distribution converges to the target's. It needs no pixel correspondence.
- :func:`fit_affine_colour`: for registered pairs, the least-squares affine map
  ``c ↦ A c + b`` from the capture's colours to the reference's at the same pixels.
  Blur is linear and commutes with an affine colour map, so fitting against the
  reference blurred like the capture estimates the camera's colour change without
  bias from the blur.
"""

from __future__ import annotations

import numpy as np


def _random_rotation(rng: np.random.Generator, dims: int) -> np.ndarray:
    """A uniformly random orthonormal ``dims x dims`` matrix (QR with sign correction)."""
    q, r = np.linalg.qr(rng.standard_normal((dims, dims)))
    return q * np.sign(np.diag(r))


def _rotate(colours: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """``colours @ rotation`` without BLAS, whose threads only add overhead for D = 3
    (and made this 10x slower on a busy machine).
    """  # noqa: D205
    return np.einsum("nd,de->ne", colours, rotation)


def _quantiles(samples: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per-column quantiles at ``levels`` in ``[0, 1]`` (one sort, linear interpolation)."""
    ordered = np.sort(samples, axis=0)
    position = levels * (len(ordered) - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, len(ordered) - 1)
    weight = (position - below)[:, None]
    return ordered[below] * (1.0 - weight) + ordered[above] * weight


def idt_transfer(
    source: np.ndarray,
    target: np.ndarray,
    iterations: int = 20,
    quantiles: int = 512,
    max_samples: int = 200_000,
    seed: int = 0,
) -> np.ndarray:
    """Pitié's iterative distribution transfer: map ``source`` colours to ``target``'s PDF.

    Args:
        source: Colours to transform.
        target: Colours whose distribution is to be reached (need not correspond).
        iterations: Random rotations applied (10–30 suffice in 3-D).
        quantiles: Points of each 1-D quantile map (linearly interpolated between).
        max_samples: Quantiles are estimated on at most this many random colours of
            each set (the map is then applied to every source colour).
        seed: Seed of the rotations and subsampling.

    Returns:
        The transformed source colours.

    Shape:
        ``source``: ``(N, D)``, ``target``: ``(M, D)`` -> ``(N, D)``.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(source, dtype=np.float64).copy()
    y = np.asarray(target, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) colours, got {x.shape} and {y.shape}")
    pick_x = rng.choice(len(x), size=min(len(x), max_samples), replace=False)
    pick_y = rng.choice(len(y), size=min(len(y), max_samples), replace=False)
    y_sample = y[pick_y]
    levels = np.linspace(0.0, 1.0, quantiles)
    for _ in range(iterations):
        rotation = _random_rotation(rng, x.shape[1])
        projected = _rotate(x, rotation)  # (N, D) coordinates in the rotated basis
        q_source = _quantiles(projected[pick_x], levels)  # (Q, D)
        q_target = _quantiles(_rotate(y_sample, rotation), levels)
        moved = np.empty_like(projected)
        for axis in range(x.shape[1]):  # D = 3 marginals, each mapped for all pixels
            moved[:, axis] = np.interp(projected[:, axis], q_source[:, axis], q_target[:, axis])
        x += _rotate(moved - projected, rotation.T)
    return x


def fit_affine_colour(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares affine colour map from corresponding ``source`` to ``target`` colours.

    Args:
        source: Colours of the capture.
        target: Colours of the reference at the same pixels.

    Returns:
        Matrix ``M`` such that ``[c, 1] @ M`` maps a source colour ``c`` (use
        :func:`apply_affine_colour`).

    Shape:
        ``source``, ``target``: ``(N, D)`` -> ``(D + 1, D)``.
    """
    x = np.asarray(source, dtype=np.float64)
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    matrix, *_ = np.linalg.lstsq(design, np.asarray(target, dtype=np.float64), rcond=None)
    return matrix


def apply_affine_colour(colours: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a map from :func:`fit_affine_colour`.

    Shape:
        ``(N, D)`` with ``(D + 1, D)`` -> ``(N, D)``.
    """
    return _rotate(colours, matrix[:-1]) + matrix[-1]
