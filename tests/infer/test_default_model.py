"""The shipped default model: installed, blind, better than non-blind Wiener, tile-safe."""

import numpy as np
import pytest
import torch

from defocus.assets import sample_image_path
from defocus.classical import wiener
from defocus.color import to_luma
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.infer import deblur, inspect_weights, load_model, loading
from defocus.io import read_image
from defocus.metrics import psnr
from defocus.models import list_pretrained, resolve_weights
from defocus.models.wiener_unet import WienerUNet


@pytest.fixture(scope="module")
def model() -> WienerUNet:
    return load_model("default")


@pytest.fixture(scope="module")
def sharp() -> torch.Tensor:
    return to_luma(read_image(sample_image_path()).pixels[None])


def test_default_weights_are_shipped_and_described():
    assert loading.DEFAULT_WEIGHTS in list_pretrained()
    info = inspect_weights(resolve_weights(loading.DEFAULT_WEIGHTS))
    assert (info.architecture, info.in_channels) == ("wiener-unet", 1)
    assert info.metadata["architecture"] == "wiener-unet"


def test_default_model_is_a_luma_wiener_unet(model):
    assert isinstance(model, WienerUNet) and not model.training
    assert model.in_channels == 1


@pytest.mark.parametrize("radius", [2.0, 4.0])
def test_blind_model_beats_wiener_given_the_true_psf(model, sharp, radius):
    """On the bundled photo with disk blur and noise σ = 0.01 (the defocus protocol's)."""
    generator = torch.Generator().manual_seed(int(radius))
    blurry = add_noise(blur(sharp, disk_kernel(radius, torch.float32)), 0.01, generator)
    with torch.no_grad():
        restored = model(blurry).clamp(0, 1)
    non_blind = wiener(blurry, disk_kernel(radius), "auto").clamp(0, 1)
    gain = float(psnr(restored, sharp) - psnr(blurry, sharp))
    assert gain >= 1.0
    assert float(psnr(restored, sharp)) > float(psnr(non_blind, sharp))


def test_tiled_and_whole_agree_on_8_bit_output(model, sharp):
    rgb = read_image(sample_image_path()).pixels[None]
    blurry = add_noise(blur(rgb, disk_kernel(3.0)), 0.01, torch.Generator().manual_seed(0))
    image = (blurry[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    whole = deblur(image, model, tile=0).astype(np.int64)
    for tile, overlap in ((128, 32), (96, 48)):
        tiled = deblur(image, model, tile=tile, overlap=overlap).astype(np.int64)
        assert np.abs(tiled - whole).max() <= 2, (tile, overlap)


def test_sharp_photo_is_left_alone(sharp):
    """No defocus detected (estimated radius < 1 px): the photo comes back unchanged."""
    model = load_model("default")
    with torch.no_grad():
        assert float(model.estimate(sharp).radius) < model.min_radius
        torch.testing.assert_close(model(sharp), sharp, rtol=0, atol=0)
