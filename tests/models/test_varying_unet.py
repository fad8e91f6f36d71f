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


def test_features_are_input_global_bank_radius_bank_hints_then_coarse_pass():
    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 3.0, 0.5)
    y = torch.rand(2, 1, 24, 20)
    features = model.prepare(y)
    assert model.images == 1 + 3 + 2 * 2
    assert features.shape == (2, model.images + 3, 24, 20)
    torch.testing.assert_close(features[:, :1], y)
    psfs = disk_bank((1.5, 3.0))[None]
    balances = torch.tensor([[[3e-3, 3e-2], [3e-3, 3e-2]]])
    expected = wiener_bank(y, psfs, balances)[:, 1:]
    torch.testing.assert_close(features[:, 4 : model.images], expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        features[:, -3], torch.full_like(y[:, 0], math.log1p(3) / math.log1p(3))
    )
    torch.testing.assert_close(features[:, -2], torch.full_like(y[:, 0], 0.5))
    assert not features[:, -1].any()  # too small for a coarse pass
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


def _large_blur(dead_leaves, radius: float) -> torch.Tensor:
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    return blur(to_luma(dead_leaves(512, 448)), disk_kernel(radius), "reflect-101").float()


def test_coarse_change_is_the_model_s_own_change_at_a_quarter_size(dead_leaves):
    from defocus.runtime.precision import autocast_dtype, network_precision

    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 20.0, 1.0)
    y = _large_blur(dead_leaves, 16.0)
    with torch.no_grad():
        coarse = model.coarse_pass(y)
        low = torch.nn.functional.avg_pool2d(y, 4)
        with network_precision(autocast_dtype("auto", y.device), y.device):
            expected = model.fuse(model.prepare(low)).float() - low
        features = model.prepare(y)
    assert coarse is not None
    assert bool((coarse.gate == 1).all())  # blurred all over: the gate is fully open
    torch.testing.assert_close(coarse.change, expected)
    assert float(coarse.change.abs().max()) > 0.01
    # stored as two samples per 4x4 block of the features' last channel
    torch.testing.assert_close(features[:, -1:, ::4, ::4], coarse.change)
    torch.testing.assert_close(features[:, -1:, ::4, 1::4], coarse.gate)


@pytest.mark.parametrize("size", [(32, 28), (70, 33), (129, 65)])
def test_unpacked_coarse_pass_is_its_bicubic_up_sampling_in_every_aligned_tile(size):
    import defocus.models.varying_unet as module

    height, width = size
    low = (-(-height // 4), -(-width // 4))
    change = torch.rand(2, 1, *low) - 0.5
    gate = torch.rand(2, 1, *low)
    if width % 4 == 1:  # the last gate column has no sample: it repeats the one before
        gate[..., -1] = gate[..., -2]
    slot = torch.empty(2, 1, height, width)
    module.pack_coarse(slot, module.CoarsePass(change, gate))
    unpacked = module.unpack_coarse(slot)
    assert unpacked is not None
    up = [
        torch.nn.functional.interpolate(c, scale_factor=4, mode="bicubic")[..., :height, :width]
        for c in (change, gate)
    ]
    torch.testing.assert_close(unpacked.change, up[0])
    torch.testing.assert_close(unpacked.gate, up[1].clamp(0, 1))  # the gate is a weight
    # a tile on the grid reads what the whole image does, away from its inner edges
    tile = module.unpack_coarse(slot[..., 8:, 4 : width - 3])
    assert tile is not None
    inner = (..., slice(12, -12), slice(12, -12))
    for part, whole in zip(tile, unpacked, strict=True):
        torch.testing.assert_close(part[inner], whole[..., 8:, 4 : width - 3][inner])
    assert module.unpack_coarse(torch.zeros(1, 1, 16, 16)) is None


@pytest.mark.parametrize("factor", [2, 4])
def test_round_trip_lowpass_is_the_phase_average_of_down_and_up_sampling(factor):
    import defocus.models.varying_unet as module

    z = torch.rand(2, 1, 24 * factor, 20 * factor, dtype=torch.float64)
    average = torch.zeros_like(z)
    for dy in range(factor):
        for dx in range(factor):  # each grid phase: shift, down and up, shift back
            shifted = torch.roll(z, (dy, dx), (-2, -1))
            trip = torch.nn.functional.interpolate(
                torch.nn.functional.avg_pool2d(shifted, factor),
                scale_factor=factor,
                mode="bicubic",
                align_corners=False,
            )
            average += torch.roll(trip, (-dy, -dx), (-2, -1))
    average /= factor**2
    lowpass = module.round_trip_lowpass(z, factor)
    inner = (..., slice(4 * factor, -4 * factor), slice(4 * factor, -4 * factor))
    torch.testing.assert_close(lowpass[inner], average[inner], rtol=0, atol=1e-12)
    assert len(module.round_trip_kernel(factor)) == 4 * factor + 3
    flat = torch.full((1, 1, 30, 30), 0.3, dtype=torch.float64)
    torch.testing.assert_close(module.round_trip_lowpass(flat, factor), flat)


def test_coarse_pass_is_skipped_without_large_blur_and_on_small_images(dead_leaves):
    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 20.0, 1.0)
    assert model.coarse_pass(_large_blur(dead_leaves, 2.0)) is None  # GCV: small
    assert model.coarse_pass(_large_blur(dead_leaves, 16.0)[..., :180, :180]) is None


def _fused_with_and_without_coarse_pass(model, y):
    """The features of ``y``, and ``fuse`` of them as they are and with the coarse slot zeroed."""
    with torch.no_grad():
        features = model.prepare(y)
        plain = features.clone()
        plain[:, -1] = 0
        return features, model.fuse(features), model.fuse(plain)


@pytest.mark.parametrize("radius", [3.0, 7.5, 20.0])
def test_fuse_replaces_the_low_band_where_the_radius_is_large(dead_leaves, radius):
    import defocus.models.varying_unet as module

    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), radius, 1.0)
    y = _large_blur(dead_leaves, 16.0)
    features, out, base = _fused_with_and_without_coarse_pass(model, y)
    low, high = module.COARSE_RADII
    weight = min(max((radius - low) / (high - low), 0.0), 1.0)
    change, gate = module.unpack_coarse(features[:, -1:])
    own = module.round_trip_lowpass(base - y, module.COARSE_FACTOR)
    expected = base + weight * (change - gate * own)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_coarse_change_is_gated_region_by_region(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    model = _constant_maps(create_model("varying-wiener-unet", **SMALL).eval(), 20.0, 1.0)
    sharp = to_luma(dead_leaves(512, 2048)).float()
    blurred = blur(sharp, disk_kernel(16.0), "reflect-101").float()
    y = torch.cat([sharp[..., :1024], blurred[..., 1024:]], dim=-1)  # sharp | r = 16
    coarse = model.coarse_pass(y)
    assert coarse is not None and coarse.change.shape == (1, 1, 128, 512)
    assert float(coarse.change[..., :64].abs().max()) == 0.0  # the sharp side: gated off
    assert float(coarse.gate[..., :64].abs().max()) == 0.0
    assert float(coarse.change[..., 384:].abs().max()) > 0.01
    assert bool((coarse.gate[..., 448:] == 1).all())
    # where the gate is shut, fuse leaves the U-Net's output as it is, bit for bit
    _, out, base = _fused_with_and_without_coarse_pass(model, y)
    assert torch.equal(out[..., :200], base[..., :200])


def test_uniform_candidate_is_wiener_unet_s_output_and_stays_frozen(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    model = create_model("varying-wiener-unet", uniform_candidate=True, **SMALL).eval()
    model = _constant_maps(model, 3.0, 0.5)
    plain = create_model("wiener-unet", offsets=(-1, 0, 1), factors=(1.0,), widths=(4, 8, 8))
    plain.fusion.load_state_dict(model.uniform.state_dict())
    assert not any(p.requires_grad for p in model.uniform.parameters())
    assert all(p.requires_grad for p in model.fusion.parameters())
    assert model.fusion.head.out_channels == model.images + 2  # v1's logit, residual
    y = blur(to_luma(dead_leaves(48, 40)), disk_kernel(3.0), "reflect-101").float()
    with torch.no_grad():  # the fusion returns its last candidate only: v1's output
        model.fusion.head.weight.zero_()
        model.fusion.head.bias.zero_()
        model.fusion.head.bias[model.images] = 60.0
        out = model(y)
        expected = plain.eval()(y)
    assert float((expected - y).abs().max()) > 0.01  # v1 restores this image
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def _warm_start_script_and_v2():
    """``scripts/warm_start_varying.py`` as a module, and the shipped v2 it starts from."""
    import importlib.util
    from pathlib import Path

    from defocus.io.weights import load_weights
    from defocus.models.registry import resolve_weights

    path = Path(__file__).parents[2] / "scripts" / "warm_start_varying.py"
    spec = importlib.util.spec_from_file_location("warm_start_varying", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    source = create_model("varying-wiener-unet")
    load_weights(source, resolve_weights("wiener-unet-defocus-v2"))
    return script, source


def test_warm_start_with_the_uniform_candidate_starts_as_the_source(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    script, source = _warm_start_script_and_v2()
    y = blur(to_luma(dead_leaves(64, 56)), disk_kernel(2.5), "reflect-101").float()
    with torch.no_grad():
        features = source.eval().prepare(y)
        before = source.fuse(features)
        outputs = {}
        for bias in (1.0, 80.0):
            started = script.add_uniform_candidate(
                "wiener-unet-defocus-v2", "wiener-unet-defocus-v1", bias
            )
            outputs[bias] = started.eval().fuse(features)
    # v1's logit far below: exactly the source; 1 below the input's: a small change
    torch.testing.assert_close(outputs[80.0], before, rtol=1e-4, atol=1e-5)
    assert 0 < float((outputs[1.0] - before).abs().max()) < 0.05


def test_local_hint_is_the_scaled_local_gcv_map_after_the_other_hints(dead_leaves):
    from defocus.classical.blind import local_disk_radius_map
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    model = create_model("varying-wiener-unet", local_hint=True, **SMALL).eval()
    model = _constant_maps(model, 3.0, 0.5)
    assert model.fusion.enc0[0][0].in_channels == model.images + 3
    assert model.fusion.head.out_channels == model.images + 1  # no logit for a hint
    sharp = to_luma(dead_leaves(160, 256)).float()
    y = torch.cat([sharp[..., :128], blur(sharp, disk_kernel(2.0), "reflect-101")[..., 128:]], -1)
    features = model.prepare(y)
    assert features.shape == (1, model.images + 4, 160, 256)
    torch.testing.assert_close(features[:, model.images + 1], torch.full_like(y[:, 0], 0.5))
    local = local_disk_radius_map(y, radii=model.radii)
    assert float(local[..., 0].max()) < float(local[..., -1].min())  # each side its own
    scaled = torch.log1p(local) / math.log1p(3.0)
    torch.testing.assert_close(features[:, model.images + 2 : model.images + 3], scaled)
    assert model(y).shape == y.shape


def test_warm_start_with_the_local_hint_starts_as_the_source(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    script, source = _warm_start_script_and_v2()
    started = script.add_local_hint("wiener-unet-defocus-v2")
    y = blur(to_luma(dead_leaves(96, 80)), disk_kernel(2.5), "reflect-101").float()
    with torch.no_grad():
        before = source.eval()(y)
        after = started.eval()(y)
    assert float((before - y).abs().max()) > 0.01
    torch.testing.assert_close(after, before, rtol=0, atol=0)  # the hint's weights are zero


def test_warm_start_sharing_the_radius_weights_reads_the_mean_radius(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade import blur, disk_kernel

    script, source = _warm_start_script_and_v2()
    started = script.add_local_hint("wiener-unet-defocus-v2", share=0.25)
    radius, local = source.images, source.images + source.hints
    weights = dict(started.named_parameters())["fusion.enc0.0.0.weight"]
    original = dict(source.named_parameters())["fusion.enc0.0.0.weight"]
    torch.testing.assert_close(weights[:, radius] + weights[:, local], original[:, radius])
    torch.testing.assert_close(weights[:, local], 0.25 * original[:, radius])
    # the start reads 0.75 · map + 0.25 · GCV where v2 read the map alone
    y = blur(to_luma(dead_leaves(96, 80)), disk_kernel(2.5), "reflect-101").float()
    with torch.no_grad():
        features = started.prepare(y)
        slots = features[:, : started.images + started.hints]
        mixed = slots.clone()
        mixed[:, radius] = 0.75 * slots[:, radius] + 0.25 * slots[:, local]
        expected = source.fuse(torch.cat([mixed[:, :local], features[:, -1:]], dim=1))
        torch.testing.assert_close(started.fuse(features), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="share"):
        script.add_local_hint("wiener-unet-defocus-v2", share=1.5)
