"""The shipped models: installed, blind, better than non-blind Wiener, tile-safe.

``wiener-unet-defocus-v1`` (one blur per image) and the default, v2 (a per-pixel blur
map): on uniform blur both beat Wiener given the true PSF; v2 also restores a depth
scene's defocused background while its in-focus subject stays close to the input.
"""

import numpy as np
import pytest
import torch

from defocus.assets import sample_image_path
from defocus.classical import wiener
from defocus.color import to_luma
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.degrade.scene import Layer, elliptical_matte, layered_defocus
from defocus.infer import deblur, inspect_weights, load_model, loading
from defocus.io import read_image
from defocus.metrics import psnr
from defocus.models import list_pretrained, resolve_weights
from defocus.models.varying_unet import VaryingWienerUNet
from defocus.models.wiener_unet import WienerUNet

V1 = "wiener-unet-defocus-v1"


@pytest.fixture(scope="module", params=[V1, "default"])
def model(request) -> WienerUNet | VaryingWienerUNet:
    return load_model(request.param)


@pytest.fixture(scope="module")
def sharp() -> torch.Tensor:
    return to_luma(read_image(sample_image_path()).pixels[None])


def test_default_weights_are_shipped_and_described():
    assert loading.DEFAULT_WEIGHTS in list_pretrained() and V1 in list_pretrained()
    info = inspect_weights(resolve_weights(loading.DEFAULT_WEIGHTS))
    assert (info.architecture, info.in_channels) == ("varying-wiener-unet", 1)
    assert inspect_weights(resolve_weights(V1)).architecture == "wiener-unet"


def test_default_model_is_a_luma_varying_wiener_unet():
    model = load_model("default")
    assert isinstance(model, VaryingWienerUNet) and not model.training
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


def test_v1_leaves_a_sharp_photo_alone(sharp):
    """v1: no defocus detected (estimated radius < 1 px): the photo comes back unchanged."""
    model = load_model(V1)
    with torch.no_grad():
        assert float(model.estimate(sharp).radius) < model.min_radius
        torch.testing.assert_close(model(sharp), sharp, rtol=0, atol=0)


def test_v2_leaves_a_sharp_photo_nearly_alone(sharp):
    """v2 has no switch: a sharp photo goes through the same path and stays close."""
    with torch.no_grad():
        restored = load_model("default")(sharp).clamp(0, 1)
    assert float(psnr(restored, sharp)) > 38


def test_v2_restores_the_defocused_background_of_a_depth_scene(sharp):
    alpha = elliptical_matte(*sharp.shape[-2:])
    scene, _ = layered_defocus(sharp, 5.0, [Layer(sharp, alpha, 0.0)], disk_kernel)
    blurry = add_noise(scene, 0.01, torch.Generator().manual_seed(0))
    with torch.no_grad():
        restored = load_model("default")(blurry).clamp(0, 1)
    subject, background = alpha >= 1, alpha <= 0
    change = (restored - blurry)[subject].square().mean()
    assert float(-10 * torch.log10(change)) > 35  # the sharp subject is left nearly alone
    before = (blurry - sharp)[background].square().mean()
    after = (restored - sharp)[background].square().mean()
    assert float(10 * torch.log10(before / after)) > 1.0  # the background is deblurred
