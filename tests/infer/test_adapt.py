"""Test-time adaptation: a tuned copy, bounded crops, determinism, matched modules, errors."""

import pytest
import torch
from safetensors.torch import save_file

from defocus.degrade import blur, disk_kernel
from defocus.errors import DefocusError
from defocus.infer import deblur
from defocus.infer.adapt import (
    Adaptation,
    adapt_deblurrer,
    anchor_term,
    crop_corners,
    reblur_module_for,
)
from defocus.io.weights import WEIGHTS_DIR, architecture_metadata
from defocus.losses import self_reblur_loss
from defocus.models import create_model
from defocus.models.reblur import (
    MATCHED_REBLUR,
    SHIPPED_REBLUR,
    ReblurModule,
    load_reblur_module,
)


@pytest.fixture
def pair():
    """A small two-stage deblurrer and a reblurring module (seeded random weights)."""
    torch.manual_seed(0)
    model = create_model("wiener-unet", offsets=(-1, 0, 1), factors=(1.0,), widths=(4, 8, 8))
    return model.eval(), ReblurModule(1, features=8, blocks=1).eval()


@pytest.fixture
def blurry():
    torch.manual_seed(1)
    sharp = torch.rand(1, 1, 72, 88)
    return blur(sharp, disk_kernel(2.0)).clamp(0, 1)


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_adaptation_tunes_a_copy_and_leaves_both_networks_alone(pair, blurry):
    model, reblur = pair
    before_model, before_reblur = state(model), state(reblur)
    features = model.prepare(blurry)
    adapted = adapt_deblurrer(model, reblur, features, Adaptation(steps=3, lr=1e-3, crop=48))
    assert same(before_model, state(model)) and same(before_reblur, state(reblur))
    assert not same(before_model, state(adapted))
    assert not adapted.training


def test_adaptation_lowers_its_own_loss(pair, blurry):
    """Steps on the self-supervised loss make the restoration harder to reblur."""
    model, reblur = pair
    features = model.prepare(blurry)
    settings = Adaptation(steps=20, lr=1e-3, crop=64, batch=2, anchor=0.0)
    adapted = adapt_deblurrer(model, reblur, features, settings)
    with torch.no_grad():
        before = self_reblur_loss(reblur, model.fuse(features))
        after = self_reblur_loss(reblur, adapted.fuse(features))
    assert after < before


def varying_model(probability: float):
    """A small VaryingWienerUNet whose blur map says ``probability`` everywhere."""
    torch.manual_seed(0)
    small = {"offsets": (0,), "factors": (1.0,), "local_radii": (2.0,), "widths": (4, 8, 8)}
    model = create_model("varying-wiener-unet", **small).eval()
    model.blur_maps = lambda x: (
        torch.full((len(x), 1, *x.shape[-2:]), 2.0),
        torch.full((len(x), 1, *x.shape[-2:]), probability),
    )
    return model


def test_the_anchor_keeps_in_focus_output_nearer_the_unadapted_one(pair, blurry):
    _, reblur = pair
    model = varying_model(0.0)  # all in focus
    features = model.prepare(blurry)
    with torch.no_grad():
        plain = model.fuse(features)
    drift = {}
    for anchor in (0.0, 1.0):
        settings = Adaptation(steps=10, lr=1e-3, crop=64, batch=2, anchor=anchor)
        adapted = adapt_deblurrer(model, reblur, features, settings)
        with torch.no_grad():
            drift[anchor] = (adapted.fuse(features) - plain).abs().mean()
    assert 0 < drift[1.0] < drift[0.0]


@pytest.mark.parametrize("probability", [0.0, 0.25, 1.0])
def test_the_anchor_holds_only_in_focus_pixels(probability):
    # w = 1 - p: a pixel surely out of focus (p = 1) is free to move
    model = varying_model(probability)
    features = model.prepare(torch.rand(2, 1, 32, 32))
    with torch.no_grad():
        before = model.fuse(features)
    moved = before + 0.1 * torch.rand_like(before)
    inner = (moved - before)[..., 4:-4, 4:-4].abs().mean()
    term = anchor_term(model, features, moved, margin=4)
    torch.testing.assert_close(term, (1 - probability) * inner)


def test_models_without_a_defocus_probability_are_not_anchored(pair, blurry):
    model, _ = pair  # WienerUNet: no blur map
    features = model.prepare(blurry)
    moved = model.fuse(features).detach() + 0.1
    assert model.defocus_probability(features) is None
    assert anchor_term(model, features, moved, margin=4) == 0


def test_deblur_with_adaptation_is_deterministic_per_seed(pair, blurry):
    model, reblur = pair
    settings = Adaptation(steps=2, lr=1e-3, crop=48, reblur=reblur)
    plain = deblur(blurry, model, precision="fp32")
    first = deblur(blurry, model, precision="fp32", adapt=settings)
    again = deblur(blurry, model, precision="fp32", adapt=settings)
    other = Adaptation(steps=2, lr=1e-3, crop=48, seed=5, reblur=reblur)
    assert torch.equal(first, again)
    assert not torch.equal(first, plain)
    assert not torch.equal(first, deblur(blurry, model, precision="fp32", adapt=other))


def test_deblur_reports_adaptation_progress_and_handles_small_and_tiled_images(pair, blurry):
    model, reblur = pair
    done = []
    settings = Adaptation(steps=3, lr=1e-3, crop=256, reblur=reblur)  # larger than the image
    out = deblur(blurry, model, precision="fp32", adapt=settings, progress=done.append)
    assert done == [1, 2, 3] and out.shape == blurry.shape
    tiled = deblur(blurry, model, tile=32, overlap=8, precision="fp32", adapt=settings)
    assert (tiled - out).abs().max() < 5e-3  # tiles of the same adapted network


def test_single_stage_deblurrers_adapt_on_image_crops():
    torch.manual_seed(0)
    model = create_model("tiny-unet").eval()
    reblur = ReblurModule(1, features=8, blocks=1)
    image = torch.rand(1, 1, 40, 40)
    out = deblur(image, model, adapt=Adaptation(steps=2, lr=1e-3, crop=40, reblur=reblur))
    assert out.shape == image.shape and torch.isfinite(out).all()


def test_crop_corners_stay_inside_and_on_the_grid():
    generator = torch.Generator().manual_seed(0)
    corners = crop_corners(100, 70, 32, 50, 4, generator)
    assert all(0 <= t <= 68 and 0 <= s <= 38 and t % 4 == 0 and s % 4 == 0 for t, s in corners)
    assert crop_corners(20, 20, 32, 3, 4, generator) == [(0, 0)] * 3


def test_self_reblur_loss_margin_leaves_out_the_borders():
    torch.manual_seed(0)
    reblur = ReblurModule(1, features=4, blocks=1)
    x = torch.rand(2, 1, 20, 24, requires_grad=True)
    inner = (reblur(x) - x.detach())[..., 3:-3, 3:-3].abs().mean()
    assert torch.allclose(self_reblur_loss(reblur, x, margin=3), inner)
    with pytest.raises(ValueError, match="leaves nothing"):
        self_reblur_loss(reblur, x, margin=10)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 0}, "steps must be"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"crop": 16}, "crop must be"),
        ({"batch": 0}, "batch must be"),
        ({"anchor": -0.1}, "anchor must be"),
        ({"anchor": float("nan")}, "anchor must be"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(DefocusError, match=message):
        Adaptation(**settings)


def test_the_default_model_has_a_matched_shipped_module():
    for model, module in MATCHED_REBLUR.items():
        assert (WEIGHTS_DIR / SHIPPED_REBLUR[module]).is_file(), model
    assert isinstance(reblur_module_for(Adaptation(), "default"), ReblurModule)


def test_modules_without_a_match_need_one_passed(pair):
    model, _ = pair
    with pytest.raises(DefocusError, match="no reblurring module is matched to WienerUNet"):
        reblur_module_for(Adaptation(), model)
    with pytest.raises(DefocusError, match="matched to 'wiener-unet-defocus-v1'"):
        reblur_module_for(Adaptation(), "wiener-unet-defocus-v1")


def test_load_reblur_module_reads_options_and_refuses_other_files(tmp_path):
    torch.manual_seed(0)
    module = ReblurModule(1, features=6, blocks=1)
    path = tmp_path / "m.safetensors"
    metadata = architecture_metadata("reblur-module", 1, {"features": 6, "blocks": 1})
    save_file(module.state_dict(), str(path), metadata=metadata)
    loaded = load_reblur_module(path)
    assert same(state(module), state(loaded))
    with pytest.raises(DefocusError, match="not found"):
        load_reblur_module(tmp_path / "missing.safetensors")
    with pytest.raises(DefocusError, match="not a reblurring module"):
        load_reblur_module(WEIGHTS_DIR / "wiener_unet_defocus_v2.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(DefocusError, match="not a readable safetensors file"):
        load_reblur_module(tmp_path / "bad.safetensors")
