import math

import numpy as np
import pytest
from scipy import stats

from defocus.bench.stats import compare, paired_ttest
from defocus.bench.tables import markdown_table, mean_table, records_csv, summary_markdown


def test_paired_ttest_matches_scipy_and_detects_a_clear_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(30, 2, 40)
    method = base + 0.5 + rng.normal(0, 0.3, 40)  # shift of 0.5 with small paired noise
    test = paired_ttest(method, base)
    reference = stats.ttest_rel(method, base)
    assert test.t == pytest.approx(reference.statistic)
    assert test.p == pytest.approx(reference.pvalue)
    assert test.p < 0.05
    diff = method - base
    half = stats.t.ppf(0.975, 39) * diff.std(ddof=1) / math.sqrt(40)
    assert test.mean_difference == pytest.approx(diff.mean())
    assert (test.ci_low, test.ci_high) == pytest.approx((diff.mean() - half, diff.mean() + half))
    assert test.ci_low > 0


def test_paired_ttest_on_known_numbers_not_significant() -> None:
    # differences 1, -1, 2, -1: mean 0.25, sd 1.5, t = 0.25 / (1.5 / 2) = 1/3
    test = paired_ttest([2, 1, 5, 3], [1, 2, 3, 4])
    assert test.t == pytest.approx(1 / 3)
    assert test.p == pytest.approx(2 * stats.t.sf(1 / 3, 3))
    assert test.p > 0.05
    assert test.ci_low < 0 < test.ci_high


def test_paired_ttest_degenerate_cases() -> None:
    assert math.isnan(paired_ttest([1.0], [0.0]).p)
    same = paired_ttest([2.0, 3.0], [1.0, 2.0])
    assert same.mean_difference == 1.0 and math.isnan(same.p)


RECORDS = [
    {"method": m, "name": f"n{i}", "group": g, "psf": p, "psnr": v + i, "seconds": 0.5}
    for m, v in (("blurry", 20.0), ("better", 22.0))
    for i, (g, p) in enumerate((("A", "disk:1"), ("A", "disk:2"), ("B", "disk:1")))
]


def test_compare_matches_records_by_name() -> None:
    shuffled = list(reversed(RECORDS))
    test = compare(shuffled, "better", "blurry", "psnr")
    assert test.n == 3 and test.mean_difference == pytest.approx(2.0)


def test_mean_table_groups_and_overall() -> None:
    rows = mean_table(RECORDS, ["psnr"])  # several PSFs: grouped by psf
    blurry = {r["group"]: r["psnr"] for r in rows if r["method"] == "blurry"}
    assert blurry == {"disk:1": pytest.approx(21.0), "disk:2": 21.0, "all": 21.0}
    by_group = mean_table(RECORDS, ["psnr"], by="group")
    assert {r["group"]: r["n"] for r in by_group if r["method"] == "better"} == {
        "A": 2,
        "B": 1,
        "all": 3,
    }


def test_markdown_formatting() -> None:
    text = markdown_table(["method", "PSNR"], [["a", 1.23456], ["b", float("nan")]])
    assert text.splitlines() == [
        "| method | PSNR |",
        "| :-- | --: |",
        "| a | 1.235 |",
        "| b | – |",
    ]
    summary = summary_markdown(RECORDS, ["psnr"], baseline="blurry")
    assert "| better | 3 | 23.000 | 0.500 |" in summary
    assert "+2.0000" in summary and "PSNR ↑ per psf" in summary


def test_records_csv_has_a_header_and_one_line_per_record() -> None:
    lines = records_csv(RECORDS).splitlines()
    assert lines[0] == "method,name,group,psf,psnr,seconds"
    assert len(lines) == 1 + len(RECORDS)
