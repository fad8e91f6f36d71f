import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from defocus.cli import main as cli_main
from defocus.io import read_image, write_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from dataset_helpers import corner_rms, photo, synthesise


@pytest.fixture
def run_cli(monkeypatch):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("defocus.cli.prepare_pairs",))
    return cli_main.main


def test_prepare_pairs_end_to_end(tmp_path, run_cli):
    gt = photo()
    truths = {}
    for name, angle, shift, radius in (
        ("s1", 1.2, (2.5, -1.5), 2.5),
        ("s2", -0.8, (-1.0, 3.0), 3.5),
    ):
        capture, true = synthesise(gt, angle, shift, radius)
        truths[name] = true
        (tmp_path / "gt").mkdir(exist_ok=True)
        (tmp_path / "blurry").mkdir(exist_ok=True)
        write_image(tmp_path / "gt" / f"{name}.png", gt.transpose(2, 0, 1), bit_depth=16)
        write_image(tmp_path / "blurry" / f"{name}.png", capture.transpose(2, 0, 1), bit_depth=16)
    out = tmp_path / "out"
    args = ["prepare-pairs", "--gt", str(tmp_path / "gt"), "--blurry", str(tmp_path / "blurry")]
    assert run_cli([*args, "-o", str(out)]) == 0

    report = json.loads((out / "report.json").read_text())
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert [r["name"] for r in rows] == ["s1", "s2"]
    for pair in report["pairs"]:
        matrix = np.array(pair["matrix"])
        assert corner_rms(matrix, truths[pair["name"]], gt.shape[:2]) < 0.3
        assert pair["colour_error_after"] < 0.2 * pair["colour_error_before"]
        assert pair["residual_px"] < 0.3
        sharp = read_image(out / "gt" / f"{pair['name']}.png")
        blurry = read_image(out / "blurry" / f"{pair['name']}.png")
        assert sharp.bit_depth == blurry.bit_depth == 16
        size = (pair["crop_height"], pair["crop_width"])
        assert sharp.size == blurry.size == size
        top, left = pair["crop_top"], pair["crop_left"]
        expected = gt[top : top + size[0], left : left + size[1]].transpose(2, 0, 1)
        assert np.abs(sharp.pixels.numpy() - expected).max() < 1e-4


def test_prepare_pairs_errors(tmp_path, run_cli, capsys):
    gt = photo()
    (tmp_path / "gt").mkdir()
    (tmp_path / "blurry").mkdir()
    write_image(tmp_path / "gt" / "a.png", gt.transpose(2, 0, 1))
    write_image(tmp_path / "blurry" / "b.png", gt.transpose(2, 0, 1))
    write_image(tmp_path / "blurry" / "a.png", gt.mean(axis=2)[None])
    args = ["prepare-pairs", "--gt", str(tmp_path / "gt"), "--blurry", str(tmp_path / "blurry")]
    assert run_cli([*args, "-o", str(tmp_path / "out")]) == 1
    assert "no ground-truth image named 'b'" in capsys.readouterr().err
    (tmp_path / "blurry" / "b.png").unlink()
    assert run_cli([*args, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "a.png: 1 channel(s) but its ground truth" in err and err.count("\n") == 1
    assert run_cli([*args, "-o", str(tmp_path)]) == 1
    assert "overwrite an input" in capsys.readouterr().err
