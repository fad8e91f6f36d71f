import csv
from pathlib import Path

import pytest

from defocus.cli.main import main


def test_evaluate_end_to_end(
    test_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "evaluate",
            "--protocol", "mmsp",
            "--methods", "blurry,wiener-oracle,richardson-lucy",
            "--data", str(test_root),
            "--limit", "2",
            "--metrics", "psnr,q",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    with open(out / "records.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 4
    assert {r["method"] for r in rows} == {"blurry", "wiener-oracle", "richardson-lucy"}
    with open(out / "means.csv") as handle:
        means = list(csv.DictReader(handle))
    assert [(m["method"], m["group"]) for m in means][:3] == [
        ("blurry", "Kodak24"),
        ("blurry", "CBSD68"),
        ("blurry", "all"),
    ]
    summary = (out / "summary.md").read_text()
    assert "Paired t-tests against `blurry`" in summary and "wiener-oracle" in summary
    assert (out / "metrics.png").stat().st_size > 1000
    assert "Means over all images" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "blurry", "--data", "MISSING"], "test data folder not found"),
        (["--methods", "blurry,nope"], "unknown method 'nope'"),
        (["--methods", "blurry", "--metrics", "psnr,bad"], "unknown metric"),
    ],
)
def test_evaluate_errors(
    test_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list, message: str
) -> None:
    args = ["evaluate", "--data", str(test_root), "--out", str(tmp_path / "o"), *extra]
    if "MISSING" in extra:
        args[args.index("MISSING")] = str(tmp_path / "missing")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("defocus: error:") and message in err
    assert not (tmp_path / "o").exists()
