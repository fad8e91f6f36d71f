"""``defocus score`` with the real registered metrics on the EUSIPCO calibration files."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from defocus.cli.main import main

OMEGA = Path(__file__).resolve().parents[1] / "fixtures" / "omega"


def test_calibration_values_through_the_cli(tmp_path: Path, capsys) -> None:
    for name in ("sharp25", "sharp138"):
        (tmp_path / "res").mkdir(exist_ok=True)
        shutil.copy(OMEGA / f"{name}.png", tmp_path / "res" / f"{name}.png")
        (tmp_path / "ref").mkdir(exist_ok=True)
        shutil.copy(OMEGA / "GT.png", tmp_path / "ref" / f"{name}.png")
    code = main(
        ["score", str(tmp_path / "res"), "--ref", str(tmp_path / "ref"),
         "--metrics", "psnr,q,omega", "--json", "-"]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["images"]}
    # metrics.md §3 table: PSNR vs GT and Ω.
    assert rows["sharp25.png"]["psnr"] == pytest.approx(17.68, abs=0.01)
    assert rows["sharp25.png"]["omega"] == pytest.approx(14.04, abs=0.01)
    assert rows["sharp138.png"]["psnr"] == pytest.approx(10.08, abs=0.01)
    assert rows["sharp138.png"]["omega"] == pytest.approx(10.50, abs=0.01)


def test_q_of_gt_without_reference(capsys) -> None:
    code = main(["score", str(OMEGA / "GT.png"), "--metrics", "q", "--json", "-"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["mean"]["q"] == pytest.approx(0.1638, abs=5e-5)


@pytest.mark.parametrize(("metric", "size"), [("q", (7, 40)), ("omega", (15, 40))])
def test_image_smaller_than_one_patch(tmp_path: Path, capsys, metric: str, size) -> None:
    arr = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)
    for name in ("r", "g"):
        Image.fromarray(arr).save(tmp_path / f"{name}.png")
    code = main(
        ["score", str(tmp_path / "r.png"), "--ref", str(tmp_path / "g.png"),
         "--metrics", metric, "--json", str(tmp_path / "s.json")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith(f"defocus: error: {tmp_path / 'r.png'}: {metric}: ")
    assert not (tmp_path / "s.json").exists()
