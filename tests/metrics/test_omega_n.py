"""Ω-n, the scale-free variant of Ω: range, invariances, the sharpening sweep, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_fixtures import OMEGA, SHARED_TEST_PHOTOS, batch, load_array, random_image

from defocus.bench.sharpening import sharpening_sweep
from defocus.degrade import blur, disk_kernel
from defocus.io import read_image
from defocus.metrics import OmegaN, create_metric, omega, omega_n

SWEEP = (0.0, 0.4, 0.8, 1.3, 2.5, 5.0, 11.8)


def textured(seed: int = 3, shape: tuple[int, int] = (64, 80)) -> torch.Tensor:
    return batch(random_image(np.random.default_rng(seed), shape))


def test_identity_scores_one_half_on_detail_and_one_on_flat_patches() -> None:
    x = textured()
    live = omega_n(x, x)
    assert 0.45 < float(live) <= 0.51
    flat = torch.full((1, 1, 32, 32), 0.3, dtype=torch.float64)
    assert float(omega_n(flat, flat)) == pytest.approx(1.0)


def test_values_lie_in_the_unit_interval() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        a, b = torch.rand(2, 1, 48, 48, generator=g, dtype=torch.float64)
        value = float(omega_n(a[None], b[None]))
        assert 0.0 <= value <= 1.0


def test_unchanged_by_gain_and_offset_of_both_images_unlike_omega() -> None:
    ref = textured()
    res = (ref + 0.1 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(1))).clamp(
        0, 1
    )
    tiny = 1e-9  # no contrast floor: the variant is then exactly scale-free
    base = omega_n(res, ref, contrast=tiny)
    moved = omega_n(0.5 * res + 0.25, 0.5 * ref + 0.25, contrast=tiny)
    torch.testing.assert_close(moved, base, rtol=1e-6, atol=1e-9)
    shift = omega(0.5 * res + 0.25, 0.5 * ref + 0.25) - omega(res, ref)
    assert float(shift) > 0.1  # Ω: its patch PSNR gains 6 dB when the contrast halves


def test_blur_scores_below_the_reference() -> None:
    ref = batch(load_array(OMEGA / "GT.png"))
    scores = [float(omega_n(blur(ref, disk_kernel(r).double()), ref)) for r in (1.0, 2.0, 4.0)]
    assert scores[0] < float(omega_n(ref, ref))
    assert scores == sorted(scores, reverse=True)


def rises_then_falls(values: list[float]) -> bool:
    """Higher than γ = 0 for mild sharpening (0.4 or 0.8), below it from γ = 2.5 on."""
    mild = max(values[1], values[2])
    return mild > values[0] and all(v < values[0] for v in values[SWEEP.index(2.5) :])


def test_sweep_on_the_calibration_image() -> None:
    gt = batch(load_array(OMEGA / "GT.png"))
    values = sharpening_sweep(gt, SWEEP, metrics=("omega-n",)).values["omega-n"]
    assert rises_then_falls(values)


@pytest.mark.skipif(not (SHARED_TEST_PHOTOS / "Kodak24").is_dir(), reason="needs ../shared")
@pytest.mark.parametrize("name", ["kodim03.png", "kodim13.png", "kodim20.png"])
def test_sweep_on_kodak_photos(name: str) -> None:
    """Smooth (03), detailed (13) and mostly flat (20) photos; all 24 in the benchmark."""
    photo = read_image(SHARED_TEST_PHOTOS / "Kodak24" / name).pixels[None]
    values = sharpening_sweep(photo, SWEEP, metrics=("omega-n",)).values["omega-n"]
    assert rises_then_falls(values)


def test_gradcheck_float64_and_finite_gradients_on_identical_images() -> None:
    rng = np.random.default_rng(17)
    ref = random_image(rng, (32, 16))
    res = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1)
    x, y = batch(res).requires_grad_(True), batch(ref).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: omega_n(a, b), (x, y))
    same = batch(ref).requires_grad_(True)
    (grad,) = torch.autograd.grad(omega_n(same, batch(ref)).sum(), (same,))
    assert torch.isfinite(grad).all()


def test_module_registry_and_errors() -> None:
    metric = create_metric("omega-n", patch=8)
    assert isinstance(metric, OmegaN) and not metric.lower_is_better
    x = textured()
    torch.testing.assert_close(metric(x * 0.9, x), omega_n(x * 0.9, x, patch=8))
    with pytest.raises(ValueError, match="contrast must be positive"):
        omega_n(x, x, contrast=0.0)
    with pytest.raises(ValueError, match="contrast must be positive"):
        OmegaN(contrast=-1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        omega_n(x, x[..., :32])
