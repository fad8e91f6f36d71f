"""Ω and its inner Q: the calibration table of the spec, the reference, gradients, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference
import torch
from metric_fixtures import OMEGA, batch, load_array, luma, random_image

from defocus.io import read_image
from defocus.metrics import Omega, create_metric, inner_q, omega, psnr

# ../shared/spec/metrics.md §3: image -> (PSNR vs GT, Ω, Qin of the whole image).
TABLE = {
    "sharp08": (26.54, 1.59, 0.125),
    "sharp13": (22.55, 5.85, 0.149),
    "sharp25": (17.68, 14.04, 0.200),
    "sharp118": (10.48, 10.89, 0.343),
    "sharp138": (10.08, 10.50, 0.361),
}
GT_QIN = 0.0828


def load(name: str, dtype: torch.dtype) -> torch.Tensor:
    return read_image(OMEGA / f"{name}.png").pixels[None].to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_calibration_table(dtype: torch.dtype) -> None:
    gt = load("GT", dtype)
    assert inner_q(gt).item() == pytest.approx(GT_QIN, abs=5e-5)
    for name, (expected_psnr, expected_omega, expected_qin) in TABLE.items():
        sharp = load(name, dtype)
        assert psnr(sharp, gt).item() == pytest.approx(expected_psnr, abs=0.005), name
        assert omega(sharp, gt).item() == pytest.approx(expected_omega, abs=0.01), name
        assert inner_q(sharp).item() == pytest.approx(expected_qin, abs=5e-4), name


def test_perfect_restoration_scores_about_0_2() -> None:
    """The content-dependent range the spec warns about: Ω(GT, GT) ≈ 0.2, below ringing."""
    gt = load("GT", torch.float64)
    perfect = omega(gt, gt).item()
    assert perfect == pytest.approx(0.2, abs=0.01)
    assert perfect < omega(load("sharp138", torch.float64), gt).item()


def test_matches_reference_on_calibration_pairs() -> None:
    gt = load_array(OMEGA / "GT.png")
    for name in TABLE:
        sharp = load_array(OMEGA / f"{name}.png")
        got = omega(batch(sharp), batch(gt)).item()
        assert got == pytest.approx(reference.omega(sharp, gt), rel=1e-6), name


@pytest.mark.parametrize("shape", [(77, 53), (131, 97), (16, 48)])
def test_matches_reference_on_random_images(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    ref = random_image(rng, shape)
    restored = np.clip(ref + 0.05 * rng.standard_normal(shape), 0, 1)
    got = omega(batch(restored), batch(ref)).item()
    assert got == pytest.approx(reference.omega(restored, ref), rel=1e-6)
    assert inner_q(batch(ref)).item() == pytest.approx(reference.inner_q(ref), rel=1e-6)


def test_matches_reference_on_odd_crops_of_the_calibration_images() -> None:
    gt = load_array(OMEGA / "GT.png")[9:86, 40:93]  # 77 x 53
    sharp = load_array(OMEGA / "sharp25.png")[9:86, 40:93]
    got = omega(batch(sharp), batch(gt)).item()
    assert got == pytest.approx(reference.omega(sharp, gt), rel=1e-6)


def test_matches_reference_on_real_photo_crops(photo_crops) -> None:
    rng = np.random.default_rng(8)
    for name, crop in photo_crops:
        blurred = np.stack([np.roll(crop[..., c], 1, axis=1) for c in range(3)], axis=-1)
        restored = np.clip(0.5 * (crop + blurred) + 0.01 * rng.standard_normal(crop.shape), 0, 1)
        got = omega(batch(restored), batch(crop)).item()  # colour in, luma inside
        expected = reference.omega(luma(restored), luma(crop))
        assert got == pytest.approx(expected, rel=1e-6), name
        assert inner_q(batch(crop)).item() == pytest.approx(reference.inner_q(luma(crop)), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patch": 15, "inner_patch": 2},
        {"patch": 12, "inner_patch": 3, "r": 2.0, "alpha0": 0.5},
        {"patch": 8, "psnr_clip": 30.0},
    ],
)
def test_parameters_match_reference(kwargs: dict) -> None:
    rng = np.random.default_rng(9)
    ref = random_image(rng, (50, 70))
    restored = np.clip(ref + 0.03 * rng.standard_normal(ref.shape), 0, 1)
    ref_kwargs = {"m" if k == "patch" else k: v for k, v in kwargs.items()}
    got = omega(batch(restored), batch(ref), **kwargs).item()
    assert got == pytest.approx(reference.omega(restored, ref, **ref_kwargs), rel=1e-6)


def test_flat_reference_patch_scores_its_psnr() -> None:
    """Q = 0 in the reference: the weight is 0 and the patch score is the clipped PSNR."""
    g = torch.Generator().manual_seed(10)
    ref = torch.full((1, 1, 16, 16), 0.5, dtype=torch.float64)
    restored = ref + 0.1 * (torch.rand(1, 1, 16, 16, generator=g, dtype=torch.float64) - 0.5)
    mse = ((restored - ref) ** 2).mean().item()
    assert omega(restored, ref).item() == pytest.approx(-10 * math.log10(mse), rel=1e-12)
    assert omega(ref, ref).item() == 50.0


def test_identical_images_use_clipped_psnr() -> None:
    ref = batch(random_image(np.random.default_rng(11), (32, 32)))
    weight = 1 / (1 + math.exp(5.0 * (0 - 1.2)))
    q = reference.inner_q(ref[0, 0, :16, :16].numpy())
    first_patch = omega(ref[..., :16, :16], ref[..., :16, :16]).item()
    assert first_patch == pytest.approx((1 - weight) * 50 + weight * q, rel=1e-12)


def test_batch_and_colour() -> None:
    rng = np.random.default_rng(12)
    refs = [np.stack([random_image(rng, (40, 36)) for _ in range(3)], -1) for _ in range(2)]
    ress = [np.clip(r + 0.02 * rng.standard_normal(r.shape), 0, 1) for r in refs]
    together = omega(torch.cat([batch(r) for r in ress]), torch.cat([batch(r) for r in refs]))
    alone = [reference.omega(luma(a), luma(b)) for a, b in zip(ress, refs, strict=True)]
    np.testing.assert_allclose(together.numpy(), alone, rtol=1e-6)


def test_gradcheck_float64() -> None:
    rng = np.random.default_rng(17)
    ref = random_image(rng, (32, 16))
    res = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1)
    for image in (ref, res):
        assert reference.coherence_margins(image, 2, "inner") > 1e-3
    x, y = batch(res).requires_grad_(True), batch(ref).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: omega(a, b), (x, y))
    z = batch(ref).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: inner_q(a), (z,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_are_finite_on_degenerate_images(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(14)
    noise = torch.rand(1, 1, 32, 32, generator=g, dtype=dtype)
    ramp = 0.5 + 1e-9 * torch.arange(32, dtype=dtype).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    step = (torch.arange(32) >= 9).to(dtype).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    flat = [torch.zeros(1, 1, 32, 32, dtype=dtype), torch.ones(1, 1, 32, 32, dtype=dtype)]
    pairs = [(a, b) for a in [*flat, noise, ramp, step] for b in [*flat, noise, ramp, step]]
    for restored, ref in pairs:
        x, y = restored.clone().requires_grad_(True), ref.clone().requires_grad_(True)
        score = omega(x, y)
        grads = torch.autograd.grad(score.sum(), (x, y))
        assert torch.isfinite(score).all()
        assert all(torch.isfinite(gr).all() for gr in grads)


def test_module_and_registry() -> None:
    metric = create_metric("omega", patch=8)
    assert isinstance(metric, Omega)
    assert metric.name == "omega" and not metric.lower_is_better
    assert metric.inputs == ("restored", "reference")
    gt, sharp = load("GT", torch.float64), load("sharp13", torch.float64)
    torch.testing.assert_close(metric(sharp, gt), omega(sharp, gt, patch=8))


def test_bad_input_raises_value_error() -> None:
    x = torch.rand(1, 1, 32, 32)
    with pytest.raises(ValueError, match="shapes differ"):
        omega(x, torch.rand(1, 1, 32, 48))
    with pytest.raises(ValueError, match="smaller than one 16x16 patch"):
        omega(x[..., :15, :], x[..., :15, :])
    with pytest.raises(ValueError, match="floating-point"):
        omega((x * 255).to(torch.uint8), (x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="expected"):
        omega(x[0], x[0])
    with pytest.raises(ValueError, match="inner patch"):
        omega(x, x, patch=4, inner_patch=8)
    with pytest.raises(ValueError, match="smaller than one 2x2 patch"):
        inner_q(x[..., :1, :])
