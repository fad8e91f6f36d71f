import numpy as np
import pytest
import torch

from defocus.assets import sample_image_path
from defocus.cli.main import main
from defocus.degrade import disk_kernel
from defocus.degrade.blur import blur
from defocus.io import read_image, write_image
from defocus.metrics import psnr


def _write(path, channels=3, bit_depth=8, alpha=False, seed=0, icc=None):
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, channels, 6, 7, generator=gen)
    x = torch.nn.functional.interpolate(coarse, size=(30, 35), mode="bicubic").clamp(0, 1)
    y = blur(x, "disk:1.5", "reflect")[0]
    write_image(
        path,
        y,
        bit_depth=bit_depth,
        alpha=torch.full((1, 30, 35), 0.5) if alpha else None,
        icc_profile=icc,
    )
    return x[0]


def test_file_to_file_keeps_16_bit_and_alpha(tmp_path):
    src = tmp_path / "in.png"
    _write(src, bit_depth=16, alpha=True)
    dst = tmp_path / "out.png"
    assert (
        main(
            [
                "deblur",
                str(src),
                "-o",
                str(dst),
                "--psf",
                "disk:1.5",
                "--method",
                "richardson-lucy",
                "--iterations",
                "5",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out, inp = read_image(dst), read_image(src)
    assert out.bit_depth == 16 and out.alpha is not None
    torch.testing.assert_close(out.alpha, inp.alpha)
    assert out.pixels.shape == inp.pixels.shape
    assert not torch.equal(out.pixels, inp.pixels)


@pytest.mark.parametrize("method", ["wiener", "mlm", "red-fp"])
def test_folder_to_new_folder(tmp_path, method):
    folder = tmp_path / "blurry"
    folder.mkdir()
    _write(folder / "a.png", channels=1)
    _write(folder / "b.jpg", channels=3, seed=1)
    out = tmp_path / "restored"
    extra = [] if method == "wiener" else ["--iterations", "3"]
    assert (
        main(
            ["deblur", str(folder), "-o", str(out), "--psf", "disk:1.5", "--method", method, *extra]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]
    assert read_image(out / "a.png").pixels.shape[0] == 1
    assert read_image(out / "b.jpg").format == "JPEG"


def test_keeps_icc_profile(tmp_path):
    src = tmp_path / "in.png"
    _write(src, icc=b"not-really-an-icc-profile")
    dst = tmp_path / "out.png"
    assert main(["deblur", str(src), "-o", str(dst), "--psf", "disk:1.5"]) == 0
    assert read_image(dst).icc_profile == b"not-really-an-icc-profile"


def test_refuses_to_overwrite_input(tmp_path, capsys):
    src = tmp_path / "in.png"
    _write(src)
    before = src.read_bytes()
    assert main(["deblur", str(src), "-o", str(tmp_path), "--psf", "box:3"]) == 1
    err = capsys.readouterr().err
    assert "overwrite an input" in err and err.count("\n") == 1
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.png", "-o", "o.png", "--psf", "box:3"], "no such file"),
        (["in.png", "-o", "nodir/sub/o.png", "--psf", "box:3"], "does not exist"),
        (["in.png", "-o", "o.png", "--psf", "blob:3"], "invalid PSF"),
        (["in.png", "-o", "o.png", "--psf", "box:3", "--balance", "x"], "--balance"),
        (
            ["in.png", "-o", "o.png", "--psf", "box:3", "--method", "al", "--padding", "mirror"],
            "mirror",
        ),
        (["bad.png", "-o", "o.png", "--psf", "box:3"], "bad.png"),
    ],
)
def test_clear_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "in.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert main(["deblur", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.startswith("defocus: error:") and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_restores_better_than_input(tmp_path):
    src = tmp_path / "in.png"
    x = _write(src, channels=1, bit_depth=16)
    dst = tmp_path / "out.png"
    assert main(["deblur", str(src), "-o", str(dst), "--psf", "disk:1.5", "--balance", "1e-4"]) == 0
    err_in = np.abs(read_image(src).pixels.numpy() - x.numpy()).mean()
    err_out = np.abs(read_image(dst).pixels.numpy() - x.numpy()).mean()
    assert err_out < 0.5 * err_in


def test_blind_wiener_needs_no_psf(tmp_path):
    src = tmp_path / "in.png"
    sharp = read_image(sample_image_path()).pixels
    blurry = blur(sharp[None], disk_kernel(2.0))[0]
    write_image(src, blurry)
    assert (
        main(["deblur", str(src), "-o", str(tmp_path / "out.png"), "--method", "wiener-blind"]) == 0
    )
    restored = read_image(tmp_path / "out.png").pixels
    assert psnr(restored[None], sharp[None]) > psnr(blurry[None], sharp[None]) + 1


def test_blind_wiener_refuses_a_psf(tmp_path, capsys):
    src = tmp_path / "in.png"
    write_image(src, torch.rand(3, 20, 20))
    args = ["deblur", str(src), "-o", str(tmp_path / "o.png"), "--method", "wiener-blind"]
    assert main([*args, "--psf", "disk:2"]) == 1
    assert "estimates the blur itself" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_classical_method_runs_tiled_when_the_image_does_not_fit_in_memory(tmp_path, monkeypatch):
    """Over the memory budget, Wiener runs tile by tile and matches the whole-image result."""
    src = tmp_path / "in.png"
    _write(src)
    args = ["deblur", str(src), "--psf", "disk:1.5", "--balance", "0.01", "--device", "cpu"]
    assert main([*args, "-o", str(tmp_path / "whole.png")]) == 0
    # 30x35 RGB = 3150 values: 128 bytes each needs 403 KB; tiled, 24 bytes each (76 KB)
    monkeypatch.setattr("defocus.cli.deblur.CLASSICAL_TILE", 16)
    monkeypatch.setattr("defocus.cli.deblur.MIN_CONTEXT", 8)
    monkeypatch.setattr("defocus.cli.deblur.TILE_OVERLAP", 4)
    monkeypatch.setenv("DEFOCUS_MEMORY_LIMIT", "300K")
    assert main([*args, "-o", str(tmp_path / "tiled.png")]) == 0
    whole, tiled = (read_image(tmp_path / n).pixels for n in ("whole.png", "tiled.png"))
    assert (whole - tiled).abs().max() <= 3 / 255
    monkeypatch.setenv("DEFOCUS_MEMORY_LIMIT", "20K")
    assert main([*args, "-o", str(tmp_path / "refused.png")]) == 1
    assert not (tmp_path / "refused.png").exists()


def test_post_gwis_runs_after_the_method(tmp_path, dead_leaves):
    from defocus.cli.main import main as cli
    from defocus.io import read_image as read
    from defocus.io import write_image as write

    # Wiener with too small a PSF leaves the chart blurred: GWIS after it has work to do
    # (on an in-focus result it would leave every pixel alone)
    write(tmp_path / "in.png", blur(dead_leaves(160, 160), "disk:5")[0])
    plain, post = tmp_path / "plain.png", tmp_path / "post.png"
    common = [str(tmp_path / "in.png"), "--method", "wiener", "--psf", "disk:1"]
    assert cli(["deblur", *common, "-o", str(plain)]) == 0
    assert cli(["deblur", *common, "-o", str(post), "--post", "gwis"]) == 0
    a, b = read(plain).pixels, read(post).pixels
    assert a.shape == b.shape and not torch.equal(a, b)
