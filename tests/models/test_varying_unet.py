"""VaryingWienerUNet: candidate layout, radius bank exactness, hints, large-image maps."""

import math

import pytest
import torch

from defocus.classical.blind import disk_bank
from defocus.models import create_model
from defocus.models.wiener_bank import wiener_bank

SMALL = {"offsets": (-1, 0, 1), "factors": (1.0,), "local_radii": (1.5, 3.0), "widths": (4, 8, 8)}


def _constant_maps(model, radius: float, probability: float):
    def maps(x):
        shape = (x.shape[0], 1, *x.shape[-2:])
        return torch.full(shape, radius), torch.full(shape, probability)

    model.blur_maps = maps
    return model


def test_features_are_input_global_bank_radius_bank_then_hints():
    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 3.0, 0.5)
    y = torch.rand(2, 1, 24, 20)
    features = model.prepare(y)
    assert model.images == 1 + 3 + 2 * 2
    assert features.shape == (2, model.images + 2, 24, 20)
    torch.testing.assert_close(features[:, :1], y)
    psfs = disk_bank((1.5, 3.0))[None]
    balances = torch.tensor([[[3e-3, 3e-2], [3e-3, 3e-2]]])
    expected = wiener_bank(y, psfs, balances)[:, 1:]
    torch.testing.assert_close(features[:, 4 : model.images], expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        features[:, -2], torch.full_like(y[:, 0], math.log1p(3) / math.log1p(3))
    )
    torch.testing.assert_close(features[:, -1], torch.full_like(y[:, 0], 0.5))
    # the probability hint is read back from (crops of) the features
    probability = model.defocus_probability(features[..., 3:11, 2:9])
    torch.testing.assert_close(probability, torch.full((2, 1, 8, 7), 0.5))


def test_the_global_candidates_are_wiener_unet_s():
    varying = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 0.0, 0.0)
    plain = create_model("wiener-unet", offsets=(-1, 0, 1), factors=(1.0,), widths=(4, 8, 8))
    y = torch.rand(1, 1, 32, 28)
    torch.testing.assert_close(varying.prepare(y)[:, 1:4], plain.prepare(y)[:, 2:5])


def test_bad_radius_bank_is_refused():
    with pytest.raises(ValueError, match="non-empty"):
        create_model("varying-wiener-unet", local_balances=())
    with pytest.raises(ValueError, match="balances > 0"):
        create_model("varying-wiener-unet", local_balances=(0.0,))


def test_forward_restores_each_channel_with_one_blur_map(dead_leaves):
    model = create_model("varying-wiener-unet", in_channels=3, **SMALL).eval()
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
    model = create_model("varying-wiener-unet", **SMALL)
    radius, probability = model.blur_maps(torch.rand(1, 1, 30, 20))
    assert seen == [(1, 1, 8, 5)]  # 600 pixels: a quarter of each side
    assert radius.shape == probability.shape == (1, 1, 30, 20)
    torch.testing.assert_close(radius, torch.full_like(radius, 8.0))  # 2 px at 1/4 size
