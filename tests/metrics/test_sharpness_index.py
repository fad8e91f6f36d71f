"""Sharpness index J: the reconstruction's defining properties and the zero-span rule."""

from __future__ import annotations

import numpy as np
import pytest
import reference
import torch
from metric_fixtures import OMEGA, batch, load_array

from defocus.metrics import SharpnessIndexJ, create_metric, sharpness_index_j


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    gt = load_array(OMEGA / "GT.png")
    blurry = (gt + np.roll(gt, 1, 0) + np.roll(gt, 1, 1) + np.roll(gt, (1, 1), (0, 1))) / 4
    return {"gt": gt, "blurry": blurry, "sharp08": load_array(OMEGA / "sharp08.png")}


def j_from_reference(restored: np.ndarray, gt: np.ndarray, blurry: np.ndarray) -> float:
    q_res, q_gt, q_blur = (reference.q_zhu_milanfar(im) for im in (restored, gt, blurry))
    return float(np.clip(1 - abs(q_res - q_gt) / abs(q_gt - q_blur), 0, 1))


def test_end_points_and_intermediate(images) -> None:
    gt, blurry = batch(images["gt"]), batch(images["blurry"])
    assert sharpness_index_j(gt, gt, blurry).item() == 1.0
    assert sharpness_index_j(blurry, gt, blurry).item() == 0.0
    halfway = 0.5 * (gt + blurry)
    j = sharpness_index_j(halfway, gt, blurry).item()
    assert 0 < j < 1
    expected = j_from_reference(
        0.5 * (images["gt"] + images["blurry"]), images["gt"], images["blurry"]
    )
    assert j == pytest.approx(expected, rel=1e-9)


def test_over_sharpening_lowers_j(images) -> None:
    gt, blurry, sharp = (batch(images[k]) for k in ("gt", "blurry", "sharp08"))
    j = sharpness_index_j(sharp, gt, blurry).item()
    assert j < 1
    assert j == pytest.approx(j_from_reference(images["sharp08"], images["gt"], images["blurry"]))


def test_zero_span_rule() -> None:
    """Q(reference) = Q(blurry): J is 1 for an exact Q match, else 0 (the formula's limit)."""
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(2, 1, 16, 16, generator=g, dtype=torch.float64)
    other = torch.rand(2, 1, 16, 16, generator=g, dtype=torch.float64)
    ramp = torch.linspace(0, 1, 16, dtype=torch.float64).expand(1, 1, 16, 16)
    restored = torch.cat([ref[:1], ramp])
    j = sharpness_index_j(restored, ref, ref.clone())
    torch.testing.assert_close(j, torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert torch.isfinite(sharpness_index_j(other, ref, ref)).all()


def test_gradients_are_finite(images) -> None:
    gt, blurry = batch(images["gt"]), batch(images["blurry"])
    for restored in (0.5 * (gt + blurry), gt, torch.zeros_like(gt), torch.ones_like(gt)):
        for blur in (blurry, gt):
            x = restored.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(sharpness_index_j(x, gt, blur).sum(), x)
            assert torch.isfinite(grad).all()


def test_module_registry_and_errors(images) -> None:
    metric = create_metric("j")
    assert isinstance(metric, SharpnessIndexJ)
    assert metric.name == "j" and not metric.lower_is_better
    assert metric.inputs == ("restored", "reference", "blurry")
    gt, blurry = batch(images["gt"]), batch(images["blurry"])
    assert metric(gt, gt, blurry).item() == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        sharpness_index_j(gt, gt, blurry[..., :64])
    with pytest.raises(ValueError, match="unknown sharpness variant"):
        SharpnessIndexJ(variant="nope")
