"""--precision: bfloat16 autocast for the default model's U-Net, float32 fallback."""

import pytest
import torch

import defocus.runtime.precision as precision_module
from defocus.cli.main import main
from defocus.degrade import add_noise, blur
from defocus.errors import DefocusError
from defocus.infer import deblur
from defocus.io import read_image, write_image
from defocus.metrics import psnr
from defocus.runtime.precision import autocast_dtype

CPU = torch.device("cpu")


def blurry_photo(size=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 1, size // 8, size // 8, generator=generator)
    sharp = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic")
    return add_noise(blur(sharp.clamp(0, 1), "disk:3"), 0.01, generator, clip=True)


def test_auto_falls_back_to_float32_without_native_bfloat16(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    assert autocast_dtype("auto", CPU) is None
    x = blurry_photo()
    torch.testing.assert_close(deblur(x, precision="auto"), deblur(x, precision="fp32"))


def test_auto_uses_bfloat16_only_where_the_output_is_formed_in_full_precision(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: True)
    assert autocast_dtype("auto", CPU) is torch.bfloat16
    assert autocast_dtype("auto", CPU, full_precision_output=False) is None
    assert autocast_dtype("bf16", CPU, full_precision_output=False) is torch.bfloat16
    assert autocast_dtype("fp32", CPU) is None
    with pytest.raises(DefocusError, match="precision"):
        autocast_dtype("fp8", CPU)


def test_bfloat16_default_model_agrees_with_float32():
    """Explicit bf16 runs on any CPU (natively where supported) and stays within 45 dB."""
    x = blurry_photo(128, seed=3)
    fp32 = deblur(x, precision="fp32")
    bf16 = deblur(x, precision="bf16")
    assert fp32.dtype == bf16.dtype == torch.float32
    assert float(psnr(bf16.double(), fp32.double())) >= 45.0
    assert not torch.equal(bf16, fp32)  # the autocast path really ran


def test_cli_precision_option(tmp_path, capsys):
    source = tmp_path / "in.png"
    write_image(source, blurry_photo(64)[0])
    assert main(["deblur", str(source), "-o", str(tmp_path / "a.png"), "--precision", "fp32"]) == 0
    assert main(["deblur", str(source), "-o", str(tmp_path / "b.png"), "--precision", "bf16"]) == 0
    a, b = (read_image(tmp_path / n).pixels[None].double() for n in ("a.png", "b.png"))
    assert float(psnr(a, b)) >= 45.0
    args = ["deblur", str(source), "-o", str(tmp_path / "c.png"), "--psf", "disk:1"]
    assert main([*args, "--precision", "bf16"]) == 1
    assert "networks only" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_mixed_precision_agrees_with_cpu_float32():
    x = blurry_photo(128, seed=4)
    cpu = deblur(x, device="cpu", precision="fp32")
    gpu = deblur(x.cuda(), device="cuda", precision="auto").cpu()
    assert float(psnr(gpu.double(), cpu.double())) >= 45.0
