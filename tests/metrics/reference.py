"""Slow, plainly written per-patch reference implementations of the metrics.

Written independently of ``defocus.metrics``: Python loops over patches, gradients
from ``numpy.gradient`` / ``scipy.ndimage.sobel`` and singular values or eigenvalues
from ``numpy.linalg``. Inputs are 2-D numpy arrays (one grey image); outputs floats.
Used by the tests as ground truth and by ``benchmarks/bench_metrics.py`` as baseline.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def threshold_zhu_milanfar(n: int, alpha: float = 0.001) -> float:
    """Anisotropy threshold on the coherence (Zhu & Milanfar 2010)."""
    k = alpha ** (1.0 / (n * n - 1))
    return math.sqrt((1.0 - k) / (1.0 + k))


def threshold_qsharpnet(n: int, alpha: float = 0.001) -> float:
    """The threshold used in the MMSP 2024 training code."""
    return math.sqrt((1.0 - alpha ** (1.0 / (n * n - 1))) / 2.0)


def tiles(image: np.ndarray, n: int):
    """Yield the complete non-overlapping ``n x n`` tiles, row by row from the top left."""
    rows, cols = image.shape
    for top in range(0, rows - n + 1, n):
        for left in range(0, cols - n + 1, n):
            yield image[top : top + n, left : left + n]


def patch_q_zhu_milanfar(patch: np.ndarray, tau: float) -> float:
    """Contribution of one patch to Q: ``s1 * R`` if anisotropic, else 0."""
    gy, gx = np.gradient(patch)
    matrix = np.column_stack([gx.ravel(), gy.ravel()])
    s1, s2 = np.linalg.svd(matrix, compute_uv=False)
    if s1 + s2 == 0:
        return 0.0
    coherence = (s1 - s2) / (s1 + s2)
    return s1 * coherence if coherence > tau else 0.0


def q_zhu_milanfar(image: np.ndarray, n: int = 8, alpha: float = 0.001) -> float:
    """Metric Q of Zhu & Milanfar on one grey image."""
    tau = threshold_zhu_milanfar(n, alpha)
    values = [patch_q_zhu_milanfar(p, tau) for p in tiles(image, n)]
    return sum(values) / len(values)


def q_qsharpnet(image: np.ndarray, n: int = 8, alpha: float = 0.001) -> float:
    """Q as in the MMSP 2024 training code (Sobel / 8, eigenvalues, other threshold)."""
    tau = threshold_qsharpnet(n, alpha)
    values = []
    for patch in tiles(image, n):
        gx = ndimage.sobel(patch, axis=1, mode="mirror") / 8.0
        gy = ndimage.sobel(patch, axis=0, mode="mirror") / 8.0
        matrix = np.column_stack([gx.ravel(), gy.ravel()])
        lam2, lam1 = np.linalg.eigvalsh(matrix.T @ matrix)
        coherence = (lam1 - lam2) / (lam1 + lam2 + 1e-10)
        values.append(lam1 * coherence if coherence > tau else 0.0)
    return sum(values) / len(values)


def inner_q(image: np.ndarray, n: int = 2, alpha: float = 0.001) -> float:
    """Inner Q of the Omega code: eigenvalue-ratio selection, singular-value value."""
    tau = threshold_zhu_milanfar(n, alpha)
    values = []
    for patch in tiles(image, n):
        gy, gx = np.gradient(patch)
        matrix = np.column_stack([gx.ravel(), gy.ravel()])
        lam2, lam1 = np.clip(np.linalg.eigvalsh(matrix.T @ matrix), 0.0, None)
        if lam1 + lam2 > 0 and (lam1 - lam2) / (lam1 + lam2) > tau:
            s1, s2 = math.sqrt(lam1), math.sqrt(lam2)
            values.append(s1 * (s1 - s2) / (s1 + s2))
        else:
            values.append(0.0)
    return sum(values) / len(values)


def omega(
    restored: np.ndarray,
    reference: np.ndarray,
    m: int = 16,
    r: float = 5.0,
    alpha0: float = 1.2,
    psnr_clip: float = 50.0,
    inner_patch: int = 2,
) -> float:
    """Ringing-aware Omega (EUSIPCO 2025) of one grey image pair."""
    scores = []
    for p_ref, p_res in zip(tiles(reference, m), tiles(restored, m), strict=True):
        q_ref = inner_q(p_ref, inner_patch)
        q_res = inner_q(p_res, inner_patch)
        if q_ref == 0:
            weight = 0.0
        else:
            deviation = abs(q_res - q_ref) / q_ref
            weight = 1.0 / (1.0 + math.exp(r * (deviation - alpha0)))
        mse = float(np.mean((p_ref - p_res) ** 2))
        psnr = psnr_clip if mse == 0 else min(10.0 * math.log10(1.0 / mse), psnr_clip)
        scores.append((1.0 - weight) * psnr + weight * q_res)
    return sum(scores) / len(scores)


def coherence_margins(image: np.ndarray, n: int = 8, variant: str = "zhu-milanfar") -> float:
    """Smallest distance between a patch's coherence and the selection threshold.

    Used to make sure that no patch of a gradcheck input sits on the threshold, where
    Q jumps and finite differences are meaningless.
    """
    margins = []
    for patch in tiles(image, n):
        if variant == "zhu-milanfar":
            gy, gx = np.gradient(patch)
            tau = threshold_zhu_milanfar(n)
        elif variant == "qsharpnet":
            gx = ndimage.sobel(patch, axis=1, mode="mirror") / 8.0
            gy = ndimage.sobel(patch, axis=0, mode="mirror") / 8.0
            tau = threshold_qsharpnet(n)
        else:  # the eigenvalue-ratio test of the inner Q
            gy, gx = np.gradient(patch)
            tau = threshold_zhu_milanfar(n)
        matrix = np.column_stack([gx.ravel(), gy.ravel()])
        lam2, lam1 = np.clip(np.linalg.eigvalsh(matrix.T @ matrix), 0.0, None)
        if variant == "zhu-milanfar":
            s1, s2 = math.sqrt(lam1), math.sqrt(lam2)
            ratio = (s1 - s2) / (s1 + s2)
        else:
            ratio = (lam1 - lam2) / (lam1 + lam2)
        margins.append(abs(ratio - tau))
    return min(margins)
