"""The network branch of ``defocus deblur`` (--model, --tile, --overlap, --adapt, --compare)."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from defocus.assets import sample_image_path
from defocus.cli.main import main
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.infer import loading
from defocus.io import read_image, write_image
from defocus.io.weights import architecture_metadata
from defocus.metrics import psnr
from defocus.models import create_model


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    model = create_model("tiny-unet")
    path = tmp_path / "tiny.safetensors"
    save_file(model.state_dict(), str(path))
    return path


def write_photo(path, channels=3, bit_depth=8, alpha=False, size=(45, 61)):
    gen = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, channels, 8, 9, generator=gen)
    pixels = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic").clamp(0, 1)[0]
    write_image(
        path,
        pixels,
        bit_depth=bit_depth,
        alpha=torch.linspace(0, 1, size[1]).expand(1, *size) if alpha else None,
    )
    return read_image(path)


def test_model_keeps_16_bit_and_alpha(tmp_path, weights):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    before = write_photo(src, bit_depth=16, alpha=True)
    assert main(["deblur", str(src), "-o", str(dst), "--model", str(weights)]) == 0
    after = read_image(dst)
    assert after.bit_depth == 16 and after.pixels.shape == before.pixels.shape
    torch.testing.assert_close(after.alpha, before.alpha, atol=0, rtol=0)
    assert not torch.equal(after.pixels, before.pixels)


def test_tiled_file_matches_whole(tmp_path, weights):
    src = tmp_path / "in.png"
    write_photo(src, size=(77, 101))
    runs = {"whole": ["--tile", "0"], "tiled": ["--tile", "32", "--overlap", "12"]}
    for name, options in runs.items():
        out = tmp_path / f"{name}.png"
        assert main(["deblur", str(src), "-o", str(out), "--model", str(weights), *options]) == 0
    whole = np.asarray(Image.open(tmp_path / "whole.png")).astype(int)
    tiled = np.asarray(Image.open(tmp_path / "tiled.png")).astype(int)
    assert np.abs(whole - tiled).max() <= 2


def test_compare_writes_side_by_side(tmp_path, weights):
    src, dst = tmp_path / "in.png", tmp_path / "out" / "in.png"
    write_photo(src, channels=1)
    args = ["deblur", str(src), "-o", str(tmp_path / "out"), "--model", str(weights)]
    assert main([*args, "--compare"]) == 0
    figure = Image.open(tmp_path / "out" / "in.compare.png")
    assert figure.mode == "RGB" and figure.width > 2 * 61 and figure.height > 45
    assert dst.exists()


def test_without_default_weights_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loading, "DEFAULT_WEIGHTS", None)
    src = tmp_path / "in.png"
    write_photo(src)
    assert main(["deblur", str(src), "-o", str(tmp_path / "out.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("defocus: error: no default model weights") and err.count("\n") == 1
    assert "--model" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--model", "MODEL", "--psf", "disk:2"], "--psf is for the classical"),
        (["--psf", "disk:2", "--tile", "64"], "--tile applies to --model only"),
        (["--model", "MODEL", "--method", "richardson-lucy"], "give the blur with --psf"),
        (["--model", "missing.safetensors"], "weights file not found"),
        (["--model", "tiny-unet"], "without trained weights"),
        (["--model", "MODEL", "--tile", "32", "--overlap", "32"], "overlap"),
        (["--model", "MODEL", "--adapt-steps", "3"], "need --adapt"),
        (["--model", "MODEL", "--adapt-seed", "0"], "need --adapt"),
        (["--model", "MODEL", "--adapt-anchor", "0.2"], "need --adapt"),
        (["--psf", "disk:2", "--adapt"], "apply to networks (--model) only"),
        (["--model", "MODEL", "--adapt"], "no reblurring module is matched"),
        (["--adapt", "--reblur-module", "missing.safetensors"], "reblurring module not found"),
    ],
)
def test_clear_errors(tmp_path, weights, capsys, options, message):
    src = tmp_path / "in.png"
    write_photo(src)
    options = [str(weights) if o == "MODEL" else o for o in options]
    assert main(["deblur", str(src), "-o", str(tmp_path / "out.png"), *options]) == 1
    err = capsys.readouterr().err
    assert message in err and err.startswith("defocus: error:") and err.count("\n") == 1
    assert not (tmp_path / "out.png").exists()


def test_one_pixel_image_is_a_clear_error_naming_the_file(tmp_path, weights, capsys):
    src = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (9, 9, 9)).save(src)
    assert main(["deblur", str(src), "-o", str(tmp_path / "o.png"), "--model", str(weights)]) == 1
    err = capsys.readouterr().err
    assert "dot.png" in err and "at least 2x2" in err and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_without_psf_or_model_the_default_model_deblurs(tmp_path):
    sharp = read_image(sample_image_path()).pixels
    blurry = add_noise(blur(sharp[None], disk_kernel(3.0)), 0.01, torch.Generator().manual_seed(1))
    src = tmp_path / "in.png"
    write_image(src, blurry[0].clamp(0, 1), bit_depth=16)
    assert main(["deblur", str(src), "-o", str(tmp_path / "out.png")]) == 0
    out = read_image(tmp_path / "out.png")
    assert out.bit_depth == 16
    before = psnr(read_image(src).pixels[None], sharp[None])
    assert psnr(out.pixels[None], sharp[None]) > before + 1


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--adapt-steps", "0"], "--adapt-steps"), (["--adapt-lr", "nan"], "--adapt-lr")],
)
def test_bad_adaptation_numbers_are_usage_errors(tmp_path, capsys, options, message):
    src = tmp_path / "in.png"
    write_photo(src)
    with pytest.raises(SystemExit) as exit_info:
        main(["deblur", str(src), "-o", str(tmp_path / "out.png"), "--adapt", *options])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out.png").exists()


@pytest.fixture
def reblur_weights(tmp_path):
    from defocus.models.reblur import ReblurModule

    torch.manual_seed(0)
    path = tmp_path / "reblur.safetensors"
    options = {"features": 8, "blocks": 1}
    metadata = architecture_metadata("reblur-module", 1, options)
    save_file(ReblurModule(1, **options).state_dict(), str(path), metadata=metadata)
    return path


def test_adapt_tunes_the_network_per_photo_deterministically(tmp_path, weights, reblur_weights):
    src = tmp_path / "in.png"
    write_photo(src, size=(150, 170))  # larger than a crop: the seed picks the crops
    base = ["deblur", str(src), "--model", str(weights)]
    adapt = ["--adapt", "--reblur-module", str(reblur_weights), "--adapt-lr", "1e-2"]
    outputs = {}
    for name, options in {
        "plain": [],
        "adapted": adapt,
        "again": adapt,
        "seeded": [*adapt, "--adapt-seed", "3"],
    }.items():
        outputs[name] = tmp_path / f"{name}.png"
        assert main([*base, "-o", str(outputs[name]), *options]) == 0
    pixels = {k: np.asarray(Image.open(v)).astype(int) for k, v in outputs.items()}
    assert np.array_equal(pixels["adapted"], pixels["again"])
    assert not np.array_equal(pixels["adapted"], pixels["plain"])
    assert not np.array_equal(pixels["adapted"], pixels["seeded"])


def test_adapt_never_writes_over_its_reblurring_module(tmp_path, weights, reblur_weights, capsys):
    src = tmp_path / "in.png"
    write_photo(src)
    before = reblur_weights.read_bytes()
    args = ["deblur", str(src), "-o", str(reblur_weights), "--model", str(weights), "--adapt"]
    assert main([*args, "--reblur-module", str(reblur_weights)]) == 1
    assert "reblur.safetensors" in capsys.readouterr().err
    assert reblur_weights.read_bytes() == before
