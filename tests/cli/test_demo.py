"""``defocus demo``: synthetic defocus of the bundled photo, restoration, scores, figure."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from scipy import ndimage

from defocus.assets import sample_image_path
from defocus.cli.demo import FILES
from defocus.cli.main import main
from defocus.degrade import parse_psf
from defocus.infer import loading
from defocus.io import read_image
from defocus.metrics import psnr
from defocus.metrics.omega import OMEGA_CAVEAT
from defocus.models import create_model


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    state = create_model("tiny-unet", in_channels=1).state_dict()
    save_file(state, str(path), metadata={"architecture": "tiny-unet", "in_channels": "1"})
    return path


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out), "--model", str(weights)]) == 0
    return out


def pixels(path):
    return read_image(path).pixels[None].double()


def test_writes_every_file_at_the_photo_size(demo_out, capsys):
    assert sorted(p.name for p in demo_out.iterdir()) == sorted(FILES)
    size = Image.open(sample_image_path()).size
    for name in ("reference.png", "blurry.png", "restored.png"):
        image = Image.open(demo_out / name)
        assert image.size == size and image.mode == "RGB"
    figure = Image.open(demo_out / "comparison.png")
    assert figure.width > 3 * size[0] and figure.height > size[1]
    np.testing.assert_array_equal(
        np.asarray(Image.open(demo_out / "reference.png")),
        np.asarray(Image.open(sample_image_path()).convert("RGB")),
    )


def test_metrics_files_have_rows_and_columns(demo_out):
    with open(demo_out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = ["blurry", "restored", "wiener", "layered blurry", "layered restored"]
    assert [r["image"] for r in rows] == names
    assert list(rows[0]) == ["image", "psnr", "ssim", "q", "omega", "omega-n", "lpips"]
    assert all(np.isfinite(float(v)) for r in rows for k, v in r.items() if k != "image")
    markdown = (demo_out / "metrics.md").read_text()
    assert markdown.splitlines()[0].startswith("| image | PSNR")
    assert OMEGA_CAVEAT in markdown
    assert all(f"| {name} |" in markdown for name in ("blurry", "restored", "wiener"))


def test_omega_n_ranks_the_restorations_as_lpips_does(demo_out):
    """The issue's example: Ω scores Wiener far above the default model, LPIPS does not."""
    with open(demo_out / "metrics.csv", newline="") as handle:
        rows = {
            r["image"]: {k: float(v) for k, v in r.items() if k != "image"}
            for r in csv.DictReader(handle)
        }
    by_lpips = sorted(("restored", "wiener", "blurry"), key=lambda n: rows[n]["lpips"])
    by_omega_n = sorted(("restored", "wiener", "blurry"), key=lambda n: -rows[n]["omega-n"])
    assert by_omega_n == by_lpips


def test_blurry_psnr_matches_the_written_files(demo_out):
    with open(demo_out / "metrics.csv", newline="") as handle:
        rows = {r["image"]: r for r in csv.DictReader(handle)}
    reference = pixels(demo_out / "reference.png")
    for name in ("blurry", "restored", "layered blurry", "layered restored"):
        expected = float(psnr(pixels(demo_out / f"{name.replace(' ', '-')}.png"), reference)[0])
        assert float(rows[name]["psnr"]) == pytest.approx(expected, abs=1e-4)


def test_layered_scene_keeps_its_middle_in_focus(demo_out):
    reference = pixels(demo_out / "reference.png")
    layered = pixels(demo_out / "layered-blurry.png")
    height, width = reference.shape[-2:]
    middle = (slice(None), slice(None), slice(height // 2 - 8, height // 2 + 8))
    middle = (*middle, slice(width // 2 - 8, width // 2 + 8))
    corner = (slice(None), slice(None), slice(0, 16), slice(0, 16))
    assert float(psnr(layered[middle], reference[middle])) > 38  # noise and rounding only
    assert float(psnr(layered[corner], reference[corner])) < 35  # the defocused background
    figure = Image.open(demo_out / "layered-comparison.png")
    assert figure.width > 4 * width


def test_blurry_is_the_disk_blur_plus_noise_of_the_reference(demo_out):
    reference = pixels(demo_out / "reference.png")[0].numpy()
    kernel = parse_psf("disk:3").numpy()
    blurred = np.stack([ndimage.convolve(c, kernel, mode="mirror") for c in reference])
    residual = pixels(demo_out / "blurry.png")[0].numpy() - blurred
    # Gaussian sigma 0.01 plus 8-bit rounding (uniform, variance 1 / (12 * 255^2)).
    expected = np.hypot(0.01, 1 / (255 * np.sqrt(12)))
    assert abs(residual.mean()) < 1e-3
    assert residual.std() == pytest.approx(expected, rel=0.1)


def test_same_seed_same_files_and_other_files_kept(tmp_path, weights, demo_out):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "restored.png").write_bytes(b"stale")
    assert main(["demo", "--out", str(out), "--model", str(weights), "--seed", "0"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    for name in FILES:
        assert (out / name).read_bytes() == (demo_out / name).read_bytes(), name
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "notes.txt"])


def test_without_default_model_one_line_error_and_nothing_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loading, "DEFAULT_WEIGHTS", None)
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("defocus: error: no default model weights") and err.count("\n") == 1
    assert not out.exists()
    out.mkdir()
    (out / "blurry.png").write_bytes(b"old")
    assert main(["demo", "--out", str(out)]) == 1
    assert [p.name for p in out.iterdir()] == ["blurry.png"]
    assert (out / "blurry.png").read_bytes() == b"old"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--noise", "-1"], "--noise"),
        (["--psf", "blob:2"], "blob"),
        (["--out", "FILE"], "not a folder"),
    ],
)
def test_bad_options(tmp_path, weights, capsys, options, message):
    (tmp_path / "FILE").write_text("x")
    options = [str(tmp_path / o) if o == "FILE" else o for o in options]
    args = ["demo", "--model", str(weights), "--out", str(tmp_path / "out"), *options]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("defocus: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_default_model_restores_better_than_the_blurry_input_and_wiener(tmp_path):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 0
    with open(out / "metrics.csv", newline="") as handle:
        rows = {row["image"]: row for row in csv.DictReader(handle)}
    assert float(rows["restored"]["psnr"]) > float(rows["blurry"]["psnr"]) + 1
    assert float(rows["restored"]["psnr"]) > float(rows["wiener"]["psnr"])
