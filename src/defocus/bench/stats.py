"""Paired comparisons of two methods on the same images: mean difference, 95 % CI, t-test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from defocus.bench.evaluate import Record
from defocus.errors import DefocusError


@dataclass(frozen=True)
class PairedTest:
    """Two-sided paired t-test of ``method - baseline`` on matched images.

    Attributes:
        n: Number of matched images.
        mean_difference: Mean of ``method - baseline``.
        ci_low: Lower end of the 95 % confidence interval of the mean difference.
        ci_high: Upper end of that interval.
        t: The t statistic (NaN when every difference is equal).
        p: Two-sided p-value (NaN when undefined: fewer than 2 images, or no spread).
    """

    n: int
    mean_difference: float
    ci_low: float
    ci_high: float
    t: float
    p: float


def paired_ttest(
    method: Sequence[float], baseline: Sequence[float], confidence: float = 0.95
) -> PairedTest:
    """Paired t-test (:func:`scipy.stats.ttest_rel`) with the mean difference and its CI.

    Args:
        method: Scores of the method, one per image.
        baseline: Scores of the baseline on the same images, in the same order.
        confidence: Level of the confidence interval.

    Returns:
        The test.

    Raises:
        DefocusError: If the two sequences differ in length or are empty.
    """
    a, b = np.asarray(method, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise DefocusError(f"paired test needs two equal, non-empty lists (got {a.size}, {b.size})")
    diff = a - b
    mean, half = mean_interval(diff, confidence)
    if a.size < 2:
        return PairedTest(1, mean, math.nan, math.nan, math.nan, math.nan)
    if np.all(diff == diff[0]):
        return PairedTest(a.size, mean, mean, mean, math.nan, math.nan)
    result = stats.ttest_rel(a, b)
    return PairedTest(a.size, mean, mean - half, mean + half, float(result[0]), float(result[1]))


def compare(records: Sequence[Record], method: str, baseline: str, metric: str) -> PairedTest:
    """Paired test of ``method`` against ``baseline`` on the images both were scored on.

    Args:
        records: Per-image records of several methods (see :func:`~defocus.bench.evaluate`).
        method: Method name (the records' ``method`` field).
        baseline: Baseline method name.
        metric: Metric column.

    Returns:
        The test over the images present for both methods (matched by ``name``).

    Raises:
        DefocusError: If the two methods share no image.
    """
    ours = {r["name"]: r[metric] for r in records if r["method"] == method}
    theirs = {r["name"]: r[metric] for r in records if r["method"] == baseline}
    names = [name for name in ours if name in theirs]
    if not names:
        raise DefocusError(f"methods {method!r} and {baseline!r} share no scored image")
    return paired_ttest([ours[n] for n in names], [theirs[n] for n in names])


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its ``confidence`` t-interval.

    Returns:
        ``(mean, half_width)``; the half-width is NaN for fewer than two values.

    Raises:
        DefocusError: If ``values`` is empty.
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        raise DefocusError("no values to average")
    if a.size < 2:
        return float(a.mean()), math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, a.size - 1) * stats.sem(a))
    return float(a.mean()), half
