"""The per-pixel Wiener bank and VaryingWienerUNet: exactness per level, blending, layout."""

import math

import pytest
import torch

from defocus.degrade import disk_kernel, gaussian_kernel
from defocus.models import create_model
from defocus.models.varying_bank import VaryingWienerBank, level_psf, level_weights
from defocus.models.wiener_bank import wiener_bank


def test_level_weights_bracket_the_radius_linearly_in_log_radius():
    levels = (0.0, 1.0, 3.0)
    radius = torch.tensor([0.0, 1.0, math.sqrt(2 * 4) - 1, 3.0, 10.0, -1.0])
    lower, weight = level_weights(radius, levels)
    assert lower.tolist() == [0, 1, 1, 1, 1, 0]
    # log(1 + r) of sqrt(8) - 1 is halfway between log 2 and log 4
    torch.testing.assert_close(weight, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0, 0.0]))


def test_level_psfs_are_the_disk_and_the_half_radius_gaussian():
    torch.testing.assert_close(level_psf("disk", 2.0), disk_kernel(2.0))
    torch.testing.assert_close(level_psf("gaussian", 3.0), gaussian_kernel(1.5))
    with pytest.raises(ValueError, match="unknown PSF shape"):
        level_psf("box", 1.0)


@pytest.mark.parametrize("shape", ["disk", "gaussian"])
def test_a_uniform_radius_on_a_level_is_that_level_s_wiener_deconvolution(shape: str):
    y = torch.rand(2, 1, 20, 24, dtype=torch.float64)
    bank = VaryingWienerBank((0.0, 1.0, 2.0), (shape,), (1.0,), (1e-3, 1e-1)).double()
    out = bank(y, torch.full_like(y, 2.0))
    psf = level_psf(shape, 2.0).float().double()  # the bank keeps float32 kernels
    expected = wiener_bank(y, psf[None, None], torch.tensor([[[1e-3, 1e-1]]], dtype=torch.float64))
    torch.testing.assert_close(out, expected[:, 1:])


def test_radius_zero_returns_the_image_and_between_levels_blends_them():
    y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    bank = VaryingWienerBank((0.0, 1.0, 3.0), ("disk",), (1.0,), (1e-2,)).double()
    radius = torch.zeros_like(y)
    radius[..., 8:, :] = math.sqrt(8) - 1  # halfway between levels 1 and 3 in log(1 + r)
    out = bank(y, radius)
    torch.testing.assert_close(out[..., :8, :], y[..., :8, :])
    one, three = (bank(y, torch.full_like(y, r)) for r in (1.0, 3.0))
    torch.testing.assert_close(out[..., 8:, :], 0.5 * (one + three)[..., 8:, :])


def test_candidates_are_shape_then_multiplier_then_balance():
    y = torch.rand(1, 1, 12, 12, dtype=torch.float64)
    bank = VaryingWienerBank((0.0, 1.0, 2.0), ("disk", "gaussian"), (0.5, 1.0), (1e-3, 1e-2))
    bank = bank.double()
    out = bank(y, torch.full_like(y, 2.0))
    assert out.shape == (1, 8, 12, 12)
    alone = VaryingWienerBank((0.0, 1.0, 2.0), ("gaussian",), (0.5,), (1e-2,)).double()
    torch.testing.assert_close(
        out[:, (1 * 2 + 0) * 2 + 1][:, None], alone(y, torch.full_like(y, 2.0))
    )


def test_bank_rejects_bad_tables():
    with pytest.raises(ValueError, match="increase from 0"):
        VaryingWienerBank((1.0, 2.0))
    with pytest.raises(ValueError, match="positive"):
        VaryingWienerBank(balances=(0.0,))


def test_in_focus_pixels_get_the_input_from_every_local_candidate(monkeypatch):
    model = create_model("varying-wiener-unet").eval()
    y = torch.rand(1, 1, 32, 32)
    zero = torch.zeros_like(y)
    monkeypatch.setattr(model, "blur_maps", lambda x: (zero, zero))
    features = model.prepare(y)
    local = features[:, 1 + model.global_bank.candidates : model.images]
    torch.testing.assert_close(local, y.expand_as(local))
    assert features.shape == (1, model.images + 2, 32, 32)


def test_forward_restores_each_channel_with_one_blur_map(dead_leaves):
    model = create_model("varying-wiener-unet", in_channels=3).eval()
    x = dead_leaves(40, 36)
    calls = []
    original = model.blur_maps

    def spy(image):
        calls.append(image.shape)
        return original(image)

    model.blur_maps = spy
    with torch.no_grad():
        out = model(x)
    assert out.shape == x.shape and calls == [x.shape]
    assert bool(out.isfinite().all())


def test_large_images_get_their_blur_map_from_a_smaller_copy(monkeypatch):
    import defocus.models.varying_unet as module

    seen = []

    def fake(image, weights):
        seen.append(image.shape)
        radius = torch.full_like(image[:, :1], 2.0)
        return type("Maps", (), {"radius": radius, "probability": torch.ones_like(radius)})

    monkeypatch.setattr(module, "learned_blur_map", fake)
    monkeypatch.setattr(module, "MAP_MAX_PIXELS", 100)
    model = create_model("varying-wiener-unet")
    radius, probability = model.blur_maps(torch.rand(1, 1, 30, 20))
    assert probability.shape == radius.shape
    assert seen == [(1, 1, 8, 5)]  # 600 pixels: a quarter of each side
    assert radius.shape == (1, 1, 30, 20)
    torch.testing.assert_close(radius, torch.full_like(radius, 8.0))  # 2 px at 1/4 size
