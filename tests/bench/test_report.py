"""``OUT/report.html``: tables, gallery choices, relative images, and a headless render."""

import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest
import torch

from defocus.bench.evaluate import evaluate, restorer
from defocus.bench.protocols import load_cases
from defocus.bench.report import (
    FILES,
    picks,
    ranked_gains,
    write_report,
    zoom_window,
)
from defocus.cli.main import main
from defocus.metrics.omega import OMEGA_CAVEAT

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)


def records_of(scores):
    """Records of two methods on the same cases: {"method": [psnr per case]}."""
    return [
        {"method": method, "name": f"c{i}", "psnr": value, "lpips": -value}
        for method, values in scores.items()
        for i, value in enumerate(values)
    ]


def test_gains_rank_cases_against_the_baseline_in_the_metrics_direction():
    records = records_of({"blurry": [20.0, 25.0, 30.0, 22.0], "m": [21.0, 29.0, 29.0, 22.5]})
    ranked = ranked_gains(records, "m", "blurry", "psnr")
    assert [i for i, _ in ranked] == [1, 0, 3, 2] and ranked[0][1] == pytest.approx(4.0)
    lpips = ranked_gains(records, "m", "blurry", "lpips")  # lower is better: same order
    assert [i for i, _ in lpips] == [1, 0, 3, 2]
    assert picks(ranked, 1) == [ranked[0], ranked[-1]]
    assert picks(ranked[:1], 2) == ranked[:1]  # never the same case twice


def test_zoom_window_finds_the_largest_change():
    changed = torch.zeros(1, 1, 100, 120)
    changed[..., 70:80, 90:100] = 1.0
    top, left, h, w = zoom_window(changed, 32)
    assert (h, w) == (32, 32) and top <= 70 and top + 32 >= 80 and left <= 90 and left + 32 >= 100
    assert zoom_window(torch.ones(1, 1, 20, 50), 32) == (0, 0, 20, 32)


@pytest.fixture
def report(test_root, tmp_path):
    cases = load_cases("defocus", test_root, limit=1)
    names = ["blurry", "wiener", "wiener-oracle"]
    restorers = {name: restorer(name) for name in names}
    metrics = ["psnr", "omega", "lpips"]
    records = [r for n in names for r in evaluate(restorers[n], cases, metrics, method=n)]
    out = tmp_path / "out"
    out.mkdir()
    return write_report(out, "test report", cases, records, restorers, metrics, "blurry")


def sources(page: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page.read_text())


def test_report_references_only_relative_images_that_exist(report):
    html = report.read_text()
    assert "Means over all images" in html and "Paired t-tests against" in html
    assert "Per psf" in html and escape(OMEGA_CAVEAT) in html
    srcs = sources(report)
    gallery = [s for s in srcs if s.startswith(FILES + "/")]
    # two methods x (2 best + 2 worst) cases x (reference, input, method) x (full, zoom)
    assert len(gallery) == 2 * 4 * 3 * 2
    for src in srcs:
        assert not Path(src).is_absolute() and ".." not in Path(src).parts
        assert src == "metrics.png" or (report.parent / src).is_file(), src


def test_a_new_report_replaces_the_old_images(report, test_root):
    stale = report.parent / FILES / "stale.png"
    stale.write_bytes(b"old")
    cases = load_cases("defocus", test_root, limit=1)[:3]
    restorers = {"blurry": restorer("blurry"), "wiener": restorer("wiener")}
    records = [r for n in restorers for r in evaluate(restorers[n], cases, ["psnr"], method=n)]
    write_report(report.parent, "again", cases, records, restorers, ["psnr"], "blurry")
    assert not stale.exists()
    assert all((report.parent / s).is_file() for s in sources(report) if s != "metrics.png")
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".report-")]


def render(page: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_report_renders_in_headless_chromium_with_every_image(report):
    (report.parent / "metrics.png").write_bytes((report.parent / sources(report)[1]).read_bytes())
    assert 'data-missing-images="0"' in render(report)
    first = next(s for s in sources(report) if s.startswith(FILES))
    (report.parent / first).unlink()  # the check can fail: one image gone
    dom = render(report)
    assert 'data-missing-images="1"' in dom and "missing" in dom


def test_evaluate_command_writes_the_report(test_root, tmp_path, capsys):
    out = tmp_path / "ev"
    args = ["evaluate", "--protocol", "mmsp", "--methods", "blurry,wiener-oracle"]
    assert main([*args, "--data", str(test_root), "--metrics", "psnr", "--out", str(out)]) == 0
    page = out / "report.html"
    assert page.is_file() and all((out / s).is_file() for s in sources(page))
    assert "report.html" in capsys.readouterr().out
