import json

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from defocus.cli import main as cli_main
from defocus.degrade import disk_kernel
from defocus.io import read_image, write_image


@pytest.fixture
def run_cli(monkeypatch):
    # Only this command: the test must not depend on other commands being present.
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("defocus.cli.degrade",))
    return cli_main.main


def make_image(path, channels=3, size=(20, 24), bit_depth=8, alpha=False, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.random((channels, *size))
    a = rng.random((1, *size)) if alpha else None
    write_image(path, pixels, bit_depth=bit_depth, alpha=a)
    return read_image(path)


def test_blurs_folder_keeps_format_and_writes_psf_and_sidecar(tmp_path, run_cli):
    src = tmp_path / "in"
    src.mkdir()
    rgb = make_image(src / "a.png", bit_depth=16, alpha=True)
    grey = make_image(src / "b.png", channels=1, seed=1)
    out = tmp_path / "out"
    assert run_cli(["degrade", str(src), "-o", str(out), "--psf", "disk:2"]) == 0

    blurred = read_image(out / "a.png")
    assert blurred.bit_depth == 16 and blurred.pixels.shape == (3, 20, 24)
    torch.testing.assert_close(blurred.alpha, rgb.alpha)
    k = disk_kernel(2).numpy()
    ref = ndi.convolve(rgb.pixels[1].double().numpy(), k, mode="mirror")
    assert np.abs(blurred.pixels[1].double().numpy() - ref).max() < 1.0 / 65535
    g = read_image(out / "b.png")
    assert g.bit_depth == 8 and g.pixels.shape == (1, 20, 24)
    ref = ndi.convolve(grey.pixels[0].double().numpy(), k, mode="mirror")
    assert np.abs(g.pixels[0].double().numpy() - ref).max() <= 0.5 / 255 + 1e-6

    np.testing.assert_allclose(np.load(out / "psf.npy"), k)
    sidecar = json.loads((out / "degrade.json").read_text())
    assert sidecar["psf"] == "disk:2" and sidecar["padding"] == "reflect"
    assert [r["output"] for r in sidecar["images"]] == ["a.png", "b.png"]
    assert sidecar["seed"] is None


def test_noise_is_seeded(tmp_path, run_cli):
    make_image(tmp_path / "x.png", bit_depth=16)
    args = ["degrade", str(tmp_path / "x.png"), "--psf", "gaussian:1", "--noise", "0.05"]
    assert run_cli([*args, "-o", str(tmp_path / "o1"), "--seed", "3"]) == 0
    assert run_cli([*args, "-o", str(tmp_path / "o2"), "--seed", "3"]) == 0
    assert run_cli([*args, "-o", str(tmp_path / "o3"), "--seed", "4"]) == 0
    one, two, three = (read_image(tmp_path / d / "x.png").pixels for d in ("o1", "o2", "o3"))
    assert torch.equal(one, two) and not torch.equal(one, three)
    assert json.loads((tmp_path / "o1" / "degrade.json").read_text())["seed"] == 3


def test_errors_are_one_line_and_inputs_never_overwritten(tmp_path, run_cli, capsys):
    make_image(tmp_path / "x.png")
    before = (tmp_path / "x.png").read_bytes()
    assert run_cli(["degrade", str(tmp_path / "x.png"), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "overwrite an input" in err and err.count("\n") == 1
    assert (tmp_path / "x.png").read_bytes() == before

    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert run_cli(["degrade", str(tmp_path / "bad.png"), "-o", str(tmp_path / "o")]) == 1
    assert "bad.png" in capsys.readouterr().err

    assert (
        run_cli(["degrade", str(tmp_path / "x.png"), "-o", str(tmp_path / "o"), "--psf", "disk:x"])
        == 1
    )
    assert "invalid PSF" in capsys.readouterr().err

    other = tmp_path / "other"
    other.mkdir()
    make_image(other / "x.png")
    assert run_cli(["degrade", str(tmp_path / "x.png"), str(other), "-o", str(tmp_path / "o")]) == 1
    assert "same file name" in capsys.readouterr().err
