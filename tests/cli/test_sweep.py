"""``defocus sweep`` and the sharpening sweep behind it, with the real PSNR, Q and Ω."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from defocus.bench.sharpening import sharpening_sweep
from defocus.cli.main import main
from defocus.io import read_image

OMEGA = Path(__file__).resolve().parents[1] / "fixtures" / "omega"
# metrics.md §3: (γ, PSNR vs GT, Ω) of the EUSIPCO calibration files.
SPEC_TABLE = [(0.8, 26.54, 1.59), (1.3, 22.55, 5.85), (2.5, 17.68, 14.04), (11.8, 10.48, 10.89),
              (13.8, 10.08, 10.50)]  # fmt: skip


def rises_then_falls(values: list[float]) -> bool:
    peak = int(np.argmax(values))
    diffs = np.diff(values)
    return 0 < peak < len(values) - 1 and all(diffs[:peak] > 0) and all(diffs[peak:] < 0)


def test_gt_sweep_reproduces_spec_table_and_paper_behaviour() -> None:
    gt = read_image(OMEGA / "GT.png")
    amounts = [a for a, _, _ in SPEC_TABLE]
    result = sharpening_sweep(gt.pixels, amounts, bit_depth=gt.bit_depth)
    for i, (_, psnr, omega) in enumerate(SPEC_TABLE):
        assert result.values["psnr"][i] == pytest.approx(psnr, abs=0.01)
        assert result.values["omega"][i] == pytest.approx(omega, abs=0.01)
    # Qin is the paper's sharpness here; the 8x8 Q falls again once 8-bit clipping
    # flattens many patches (0.298 at γ = 2.5, 0.258 at 11.8), so it is not asserted.
    assert all(np.diff(result.values["qin"]) > 0)
    assert all(np.diff(result.values["psnr"]) < 0)
    assert rises_then_falls(result.values["omega"])
    # The 8-bit sharpened views are exactly the paper's files.
    for i, tag in enumerate(("08", "13", "25", "118", "138")):
        expected = np.asarray(Image.open(OMEGA / f"sharp{tag}.png"))
        np.testing.assert_array_equal(np.rint(result.views[i][0].numpy() * 255), expected)


def test_default_sweep_on_bundled_photo(tmp_path: Path, capsys) -> None:
    out = tmp_path / "runs" / "quickstart"
    assert main(["sweep", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "kodim23_crop256.png" in printed and "sweep.csv" in printed
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert list(rows[0]) == ["amount", "psnr", "q", "qin", "omega"]
    amounts = [float(r["amount"]) for r in rows]
    assert amounts == sorted(amounts) and amounts[0] == 0 and amounts[-1] >= 12
    psnr, q, qin, omega = ([float(r[k]) for r in rows] for k in ("psnr", "q", "qin", "omega"))
    assert math.isinf(psnr[0])  # the unsharpened image is the reference
    assert all(np.diff(psnr[1:]) < 0)
    assert all(np.diff(q) > 0) and all(np.diff(qin) > 0)
    assert rises_then_falls(omega)
    for name in ("sweep.png", "contact_sheet.png"):
        with Image.open(out / name) as img:
            assert img.format == "PNG" and min(img.size) >= 400
    assert sorted(p.name for p in out.iterdir()) == ["contact_sheet.png", "sweep.csv", "sweep.png"]


def test_sweep_quantises_to_the_reference_bit_depth() -> None:
    levels = torch.randint(0, 65536, (1, 1, 24, 24), dtype=torch.int64)
    result = sharpening_sweep(levels / 65535.0, [0.0, 3.0], bit_depth=16, view=24)
    scaled = result.views[1].double() * 65535  # views are float32: levels to ~1e-3
    assert (scaled - scaled.round()).abs().max() < 0.01
    assert (scaled.round() - levels[0]).abs().max() > 100
    assert result.views[1].min() >= 0 and result.views[1].max() <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amounts", "0,x"], "--amounts: 'x' is not a number"),
        (["--amounts", "1,-2"], "--amounts: '-2' must be a finite number >= 0"),
        (["--amounts", "1,1"], "--amounts: an amount is repeated"),
        (["--radius", "0"], "--radius must be a positive number"),
        (["missing.png"], "missing.png: no such file"),
    ],
)
def test_sweep_bad_arguments(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    out = tmp_path / "o"
    code = main(["sweep", *args, "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 1 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_sweep_too_small_reference_names_the_file(tmp_path: Path, capsys) -> None:
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp_path / "tiny.png")
    code = main(["sweep", str(tmp_path / "tiny.png"), "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert code == 1 and err.startswith(f"defocus: error: {tmp_path / 'tiny.png'}: ")
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_sweep_out_is_a_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["sweep", "--out", str(tmp_path / "f")]) == 1
    assert "exists and is not a folder" in capsys.readouterr().err
