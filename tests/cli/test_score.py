"""``defocus score`` run in-process with stand-in metrics (fast, independent of the real ones)."""

import csv
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from defocus.cli.main import main
from defocus.metrics.base import METRICS, Metric

RNG = np.random.default_rng(3)


class MeanAbsDiff(Metric):
    name = "t_mad"
    lower_is_better = True
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return (restored - reference).abs().mean(dim=(1, 2, 3))


class Brightness(Metric):
    name = "t_mean"
    inputs: ClassVar[tuple[str, ...]] = ("restored",)

    def forward(self, restored: torch.Tensor) -> torch.Tensor:
        return restored.mean(dim=(1, 2, 3))


class Psnr(Metric):
    name = "t_psnr"
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return -10 * torch.log10(((restored - reference) ** 2).mean(dim=(1, 2, 3)))


class Patchy(Metric):
    name = "t_patch"
    inputs: ClassVar[tuple[str, ...]] = ("restored",)

    def forward(self, restored: torch.Tensor) -> torch.Tensor:
        if min(restored.shape[-2:]) < 8:
            raise ValueError(f"image {tuple(restored.shape[-2:])} is smaller than one 8x8 patch")
        return restored.std(dim=(1, 2, 3))


class Gain(Metric):
    name = "t_gain"
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference", "blurry")

    def forward(self, restored, reference, blurry) -> torch.Tensor:
        return (restored - blurry).abs().mean(dim=(1, 2, 3)) / (
            (reference - blurry).abs().mean(dim=(1, 2, 3)) + 1e-12
        )


@pytest.fixture(autouse=True)
def fake_metrics(monkeypatch):
    """Replace the registry by the stand-ins for the duration of a test."""
    factories = {m.name: m for m in (MeanAbsDiff, Brightness, Psnr, Patchy, Gain)}
    monkeypatch.setattr(METRICS, "_factories", factories)


def save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def rgb(h: int = 16, w: int = 20) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["score", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_to_stdout_is_the_only_stdout(tmp_path: Path, capsys) -> None:
    a, b = rgb(), rgb()
    r, g = save(tmp_path / "r.png", a), save(tmp_path / "g.png", b)
    code, out, err = run(capsys, r, "--ref", g, "--metrics", "t_mad,t_mean", "--json", "-")
    assert code == 0
    data = strict_json(out)
    expected = np.abs(a / 255 - b / 255).mean()
    assert data["images"][0]["name"] == "r.png"
    assert data["images"][0]["t_mad"] == pytest.approx(expected, rel=1e-12)
    assert data["mean"] == {
        "t_mad": pytest.approx(expected),
        "t_mean": pytest.approx(a.mean() / 255),
    }
    assert "t_mad" in err and "mean" in err  # the table went to stderr


def test_folders_by_stem_with_json_csv_and_table(tmp_path: Path, capsys) -> None:
    refs = {n: rgb() for n in ("b", "a", "c")}
    for n, arr in refs.items():
        save(tmp_path / "ref" / f"{n}.png", arr)
        save(tmp_path / "res" / f"{n}.png", np.clip(arr.astype(int) + 3, 0, 255).astype(np.uint8))
    code, out, _ = run(
        capsys,
        tmp_path / "res",
        "--ref",
        tmp_path / "ref",
        "--json",
        tmp_path / "s.json",
        "--csv",
        tmp_path / "s.csv",
    )
    assert code == 0 and "a.png" in out and "mean (3)" in out
    data = strict_json((tmp_path / "s.json").read_text())
    assert [row["name"] for row in data["images"]] == ["a.png", "b.png", "c.png"]
    # Default metrics: everything the given images allow (no --blurry: no t_gain).
    assert set(data["mean"]) == {"t_mad", "t_mean", "t_psnr", "t_patch"}
    for row in data["images"]:
        arr = refs[row["name"][0]].astype(float)
        expected = np.abs(np.clip(arr + 3, 0, 255) - arr).mean() / 255
        assert row["t_mad"] == pytest.approx(expected, rel=1e-12)
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["name"] for r in rows] == ["a.png", "b.png", "c.png", "mean"]
    mean_mad = np.mean([float(r["t_mad"]) for r in rows[:3]])
    assert float(rows[3]["t_mad"]) == pytest.approx(mean_mad, rel=1e-12)
    assert float(rows[3]["t_mad"]) == pytest.approx(data["mean"]["t_mad"], rel=1e-12)


def test_reference_free_default_and_blurry(tmp_path: Path, capsys) -> None:
    r = save(tmp_path / "r.png", rgb())
    code, out, _ = run(capsys, r, "--json", "-")
    assert code == 0 and set(strict_json(out)["mean"]) == {"t_mean", "t_patch"}
    g, b = save(tmp_path / "g.png", rgb()), save(tmp_path / "b.png", rgb())
    code, out, _ = run(capsys, r, "--ref", g, "--blurry", b, "--metrics", "t_gain", "--json", "-")
    assert code == 0 and "t_gain" in strict_json(out)["mean"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "t_mad"], "metric 't_mad' needs --ref"),
        (["--metrics", "t_gain"], "metric 't_gain' needs --ref and --blurry"),
        (["--metrics", "nope"], "unknown metric 'nope'"),
        (["--metrics", " , "], "give at least one metric"),
    ],
)
def test_metric_selection_errors(tmp_path: Path, capsys, extra, message) -> None:
    r = save(tmp_path / "r.png", rgb())
    code, out, err = run(capsys, r, *extra)
    assert code == 1 and out == ""
    assert err.startswith("defocus: error: ") and message in err and err.count("\n") == 1


def test_infinite_values_are_valid_json_and_csv(tmp_path: Path, capsys) -> None:
    a = rgb()
    r, g = save(tmp_path / "r.png", a), save(tmp_path / "g.png", a)
    code, out, err = run(
        capsys, r, "--ref", g, "--metrics", "t_psnr", "--json", "-", "--csv", tmp_path / "x.csv"
    )
    assert code == 0
    data = strict_json(out)
    assert data["images"][0]["t_psnr"] == "inf" and data["mean"]["t_psnr"] == "inf"
    assert math.isinf(float(data["mean"]["t_psnr"]))
    rows = list(csv.DictReader((tmp_path / "x.csv").open()))
    assert rows[0]["t_psnr"] == "inf" and math.isinf(float(rows[1]["t_psnr"]))
    assert "inf" in err


def test_16bit_values_reach_the_metric_unrounded(tmp_path: Path, capsys) -> None:
    levels = RNG.integers(0, 65536, (12, 10), dtype=np.uint16)
    levels[0, 0] = 25701  # not representable with 8 bits
    r = save(tmp_path / "r.png", levels)
    code, out, _ = run(capsys, r, "--metrics", "t_mean", "--json", "-")
    assert code == 0
    assert strict_json(out)["mean"]["t_mean"] == pytest.approx(levels.mean() / 65535, rel=1e-12)


def test_alpha_is_ignored_and_said(tmp_path: Path, capsys) -> None:
    colour = rgb()
    alpha = RNG.integers(0, 256, colour.shape[:2], dtype=np.uint8)
    r = save(tmp_path / "r.png", np.dstack([colour, alpha]))
    g = save(tmp_path / "g.png", colour)
    code, out, err = run(capsys, r, "--ref", g, "--metrics", "t_mad", "--json", "-")
    assert code == 0 and strict_json(out)["mean"]["t_mad"] == 0.0
    assert "alpha channel ignored" in err


def test_grey_restored_against_colour_reference(tmp_path: Path, capsys) -> None:
    grey = RNG.integers(0, 256, (16, 20), dtype=np.uint8)
    r = save(tmp_path / "r.png", grey)
    g = save(tmp_path / "g.png", np.dstack([grey] * 3))
    code, out, _ = run(capsys, r, "--ref", g, "--metrics", "t_mad", "--json", "-")
    assert code == 0 and strict_json(out)["mean"]["t_mad"] == 0.0


def truncated(path: Path, fmt: str) -> Path:
    save(path, rgb(64, 64)) if fmt == "PNG" else Image.fromarray(rgb(64, 64)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("case", "culprit", "problem"),
    [
        ("missing", "r.png", "no such file"),
        ("garbage", "r.png", "not a recognised image"),
        ("truncated_png", "r.png", "cannot read image"),
        ("truncated_jpeg", "r.jpg", "cannot read image"),
        ("size_mismatch", "r.png", "size 20x16 differs from the reference image"),
        ("too_small", "r.png", "smaller than one 8x8 patch"),
        ("unmatched", "res/b.png", "no reference image named 'b'"),
        ("unmatched_reverse", "ref/c.png", "no restored image named 'c'"),
        ("json_folder_missing", "nowhere/s.json", "does not exist"),
    ],
)
def test_bad_input_one_line_error_no_outputs(tmp_path: Path, capsys, case, culprit, problem):
    restored: Path = tmp_path / "r.png"
    reference = save(tmp_path / "g.png", rgb())
    json_out = tmp_path / "out" / "s.json"
    json_out.parent.mkdir()
    metrics = "t_mad,t_patch"
    if case == "garbage":
        restored.write_bytes(RNG.bytes(300))
    elif case == "truncated_png":
        truncated(restored, "PNG")
        reference = save(tmp_path / "g.png", rgb(64, 64))
    elif case == "truncated_jpeg":
        restored = truncated(tmp_path / "r.jpg", "JPEG")
        reference = save(tmp_path / "g.png", rgb(64, 64))
    elif case == "size_mismatch":
        save(restored, rgb(16, 20))
        reference = save(tmp_path / "g.png", rgb(16, 21))
    elif case == "too_small":
        save(restored, rgb(7, 30))
        reference = save(tmp_path / "g.png", rgb(7, 30))
    elif case.startswith("unmatched"):
        for name in ("a", "b"):
            save(tmp_path / "res" / f"{name}.png", rgb())
        for name in ("a", "b" if case == "unmatched_reverse" else "z", "c"):
            save(tmp_path / "ref" / f"{name}.png", rgb())
        restored, reference = tmp_path / "res", tmp_path / "ref"
    elif case == "json_folder_missing":
        save(restored, rgb())
        json_out = tmp_path / "nowhere" / "s.json"
    csv_out = json_out.parent / "s.csv"
    code, out, err = run(
        capsys,
        restored,
        "--ref",
        reference,
        "--metrics",
        metrics,
        "--json",
        json_out,
        "--csv",
        csv_out,
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"defocus: error: {tmp_path / culprit}: "), err
    assert problem in err
    assert not json_out.exists() and not csv_out.exists()
    if json_out.parent.exists():
        assert list(json_out.parent.iterdir()) == []


def test_cuda_request_without_cuda(tmp_path: Path, capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    r = save(tmp_path / "r.png", rgb())
    code, _, err = run(capsys, r, "--metrics", "t_mean", "--device", "cuda")
    assert code == 1 and "--device cuda" in err
