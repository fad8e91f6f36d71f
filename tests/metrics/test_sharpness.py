"""Sharpness Q: spec values, agreement with the per-patch reference, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import reference
import torch
from metric_fixtures import OMEGA, batch, load_array, luma, random_image

from defocus.io import read_image
from defocus.metrics import SharpnessQ, create_metric, sharpness_q
from defocus.metrics.structure import qsharpnet_threshold, zhu_milanfar_threshold

VARIANTS = {"zhu-milanfar": reference.q_zhu_milanfar, "qsharpnet": reference.q_qsharpnet}


def test_thresholds_match_the_spec() -> None:
    assert zhu_milanfar_threshold(8, 0.001) == pytest.approx(0.234027, abs=1e-6)
    assert qsharpnet_threshold(8, 0.001) == pytest.approx(0.227870, abs=1e-6)
    assert zhu_milanfar_threshold(2, 0.001) == pytest.approx(0.904534, abs=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_q_of_gt_png_is_0_1638(dtype: torch.dtype) -> None:
    gt = read_image(OMEGA / "GT.png").pixels[None].to(dtype)
    assert gt.shape == (1, 1, 128, 128)
    q = sharpness_q(gt)
    assert q.dtype == dtype and q.shape == (1,)
    assert q.item() == pytest.approx(0.1638, abs=1e-4)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("shape", [(77, 53), (131, 97), (16, 16), (8, 40)])
def test_matches_reference_on_random_images(variant: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    image = random_image(rng, shape)
    expected = VARIANTS[variant](image)
    assert expected > 0
    got = sharpness_q(batch(image), variant=variant).item()
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_reference_on_gt_crop_of_odd_size(variant: str) -> None:
    image = load_array(OMEGA / "GT.png")[5:82, 31:84]  # 77 x 53
    got = sharpness_q(batch(image), variant=variant).item()
    assert got == pytest.approx(VARIANTS[variant](image), rel=1e-6)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_matches_reference_on_real_photo_crops(variant: str, photo_crops) -> None:
    for name, crop in photo_crops:
        expected = VARIANTS[variant](luma(crop))
        got = sharpness_q(batch(crop), variant=variant).item()  # colour in, luma inside
        assert got == pytest.approx(expected, rel=1e-6), name


def test_batch_matches_single_images_and_border_is_dropped() -> None:
    rng = np.random.default_rng(1)
    images = [random_image(rng, (43, 37)) for _ in range(3)]
    x = torch.cat([batch(im) for im in images])
    together = sharpness_q(x)
    alone = torch.cat([sharpness_q(batch(im)) for im in images])
    torch.testing.assert_close(together, alone, rtol=1e-12, atol=0)
    torch.testing.assert_close(sharpness_q(x[..., :40, :32]), together, rtol=1e-12, atol=0)


def test_scaling_laws() -> None:
    """Q is linear in intensity; the qsharpnet value (an eigenvalue) is quadratic."""
    x = batch(random_image(np.random.default_rng(2), (48, 48)))
    torch.testing.assert_close(sharpness_q(0.5 * x), 0.5 * sharpness_q(x))
    torch.testing.assert_close(
        sharpness_q(0.5 * x, variant="qsharpnet"), 0.25 * sharpness_q(x, variant="qsharpnet")
    )


def test_float32_close_to_float64() -> None:
    x = batch(random_image(np.random.default_rng(3), (96, 80)))
    for variant in VARIANTS:
        q64 = sharpness_q(x, variant=variant)
        q32 = sharpness_q(x.float(), variant=variant)
        assert q32.dtype == torch.float32
        torch.testing.assert_close(q32.double(), q64, rtol=1e-4, atol=1e-7)


def test_sharper_image_scores_higher() -> None:
    gt = read_image(OMEGA / "GT.png").pixels[None]
    sharpened = read_image(OMEGA / "sharp25.png").pixels[None]
    blurred = torch.nn.functional.avg_pool2d(gt, 3, stride=1, padding=1, count_include_pad=False)
    assert sharpness_q(blurred) < sharpness_q(gt) < sharpness_q(sharpened)


def test_flat_image_has_zero_q() -> None:
    for value in (0.0, 0.5, 1.0):
        x = torch.full((2, 3, 24, 24), value)
        for variant in VARIANTS:
            assert torch.equal(sharpness_q(x, variant=variant), torch.zeros(2))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gradcheck_float64(variant: str) -> None:
    rng = np.random.default_rng(4)
    image = random_image(rng, (24, 24))
    assert reference.coherence_margins(image, 8, variant) > 1e-3
    x = batch(image).requires_grad_(True)
    assert sharpness_q(x, variant=variant).item() > 0
    assert torch.autograd.gradcheck(lambda t: sharpness_q(t, variant=variant), (x,))


def degenerate_images() -> dict[str, torch.Tensor]:
    rows = torch.arange(32, dtype=torch.float64).view(32, 1).expand(32, 32)
    step = (torch.arange(32) >= 13).to(torch.float64).view(1, 32).expand(32, 32)
    g = torch.Generator().manual_seed(5)
    return {
        "zeros": torch.zeros(32, 32, dtype=torch.float64),
        "constant": torch.full((32, 32), 0.37, dtype=torch.float64),
        "ones": torch.ones(32, 32, dtype=torch.float64),
        "tiny ramp": 0.5 + 1e-9 * rows,
        "vertical step": step,
        "noise": torch.rand(32, 32, generator=g, dtype=torch.float64),
        "noisy step": (0.8 * step + 0.1 * torch.rand(32, 32, generator=g)).to(torch.float64),
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gradients_are_finite_on_degenerate_images(variant: str, dtype: torch.dtype) -> None:
    for name, image in degenerate_images().items():
        x = image.to(dtype)[None, None].repeat(1, 3, 1, 1).requires_grad_(True)
        q = sharpness_q(x, variant=variant)
        (grad,) = torch.autograd.grad(q.sum(), x)
        assert torch.isfinite(q).all() and torch.isfinite(grad).all(), name


def test_module_and_registry() -> None:
    metric = create_metric("q", variant="qsharpnet")
    assert isinstance(metric, SharpnessQ)
    assert metric.name == "q" and not metric.lower_is_better and metric.inputs == ("restored",)
    x = batch(random_image(np.random.default_rng(6), (40, 40)))
    torch.testing.assert_close(metric(x), sharpness_q(x, variant="qsharpnet"))


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (torch.rand(3, 16, 16), {}, "expected"),
        (torch.randint(0, 255, (1, 1, 16, 16), dtype=torch.uint8), {}, "floating-point"),
        (torch.rand(1, 1, 7, 16), {}, "smaller than one 8x8 patch"),
        (torch.rand(1, 2, 16, 16), {}, "1 or 3 channels"),
        (torch.rand(1, 1, 16, 16), {"variant": "nope"}, "unknown sharpness variant"),
        (torch.rand(1, 1, 16, 16), {"patch": 1}, "patch size"),
        (torch.rand(1, 1, 16, 16), {"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_input_raises_value_error(x: torch.Tensor, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sharpness_q(x, **kwargs)
    if "variant" in kwargs or "patch" in kwargs or "alpha" in kwargs:
        with pytest.raises(ValueError, match=message):
            SharpnessQ(**kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda() -> None:
    x = batch(random_image(np.random.default_rng(7), (64, 64)))
    torch.testing.assert_close(sharpness_q(x.cuda()).cpu(), sharpness_q(x))


def test_autograd_works_after_a_first_call_in_inference_mode() -> None:
    """The cached patch operators must not be inference tensors."""
    x = batch(random_image(np.random.default_rng(8), (30, 35)))
    with torch.inference_mode():
        expected = sharpness_q(x, patch=6, variant="qsharpnet")
    leaf = x.clone().requires_grad_(True)
    q = sharpness_q(leaf, patch=6, variant="qsharpnet")
    (grad,) = torch.autograd.grad(q.sum(), leaf)
    torch.testing.assert_close(q.detach(), expected)
    assert grad.abs().sum() > 0
