"""Sharpness loss -Q: value, reductions, gradients, registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from defocus.io import read_image
from defocus.losses import SharpnessLoss, create_loss, sharpness_loss
from defocus.metrics import sharpness_q

OMEGA = Path(__file__).resolve().parents[1] / "fixtures" / "omega"


def images() -> torch.Tensor:
    gt = read_image(OMEGA / "GT.png").pixels[None].double()
    sharp = read_image(OMEGA / "sharp25.png").pixels[None].double()
    return torch.cat([gt, sharp])


@pytest.mark.parametrize("variant", ["zhu-milanfar", "qsharpnet"])
def test_loss_is_minus_q_with_reductions(variant: str) -> None:
    x = images()
    q = sharpness_q(x, variant=variant)
    torch.testing.assert_close(sharpness_loss(x, variant=variant, reduction="none"), -q)
    torch.testing.assert_close(sharpness_loss(x, variant=variant), -q.mean())
    torch.testing.assert_close(sharpness_loss(x, variant=variant, reduction="sum"), -q.sum())
    module = SharpnessLoss(variant=variant, reduction="none")
    torch.testing.assert_close(module(x), -q)


def test_sharper_image_has_lower_loss() -> None:
    loss = sharpness_loss(images(), reduction="none")
    assert loss[1] < loss[0] < 0


def test_gradients_are_finite_and_descent_sharpens() -> None:
    g = torch.Generator().manual_seed(0)
    cases = [
        torch.zeros(1, 3, 32, 32),
        torch.ones(1, 3, 32, 32),
        torch.full((1, 1, 32, 32), 0.5),
        torch.rand(1, 1, 32, 32, generator=g),
    ]
    for x in cases:
        for variant in ("zhu-milanfar", "qsharpnet"):
            x = x.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(sharpness_loss(x, variant=variant), x)
            assert torch.isfinite(grad).all()
    x = images()[:1].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(sharpness_loss(x), x)
    assert sharpness_loss(x - 0.01 * grad / grad.abs().max()) < sharpness_loss(x)


def test_registry_and_errors() -> None:
    loss = create_loss("sharpness", variant="qsharpnet", reduction="sum")
    assert isinstance(loss, SharpnessLoss)
    x = images()
    torch.testing.assert_close(loss(x), -sharpness_q(x, variant="qsharpnet").sum())
    with pytest.raises(ValueError, match="reduction"):
        SharpnessLoss(reduction="max")
    with pytest.raises(ValueError, match="reduction"):
        sharpness_loss(x, reduction="max")
    with pytest.raises(ValueError, match="unknown sharpness variant"):
        SharpnessLoss(variant="nope")
    with pytest.raises(ValueError, match="smaller than one 8x8 patch"):
        sharpness_loss(x[..., :4, :4])


def test_clip_measures_the_saved_image():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64) * 3 - 1
    clipped = sharpness_loss(x, reduction="none")
    expected = -sharpness_q(x.clamp(0, 1))
    assert torch.allclose(clipped, expected)
    raw = sharpness_loss(x, reduction="none", clip=False)
    assert torch.allclose(raw, -sharpness_q(x))
    edge = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    edge[..., 13:] = 1.0
    edge = edge + 0.01 * torch.rand_like(edge)  # a step edge, made anisotropic everywhere
    overshoot = 3 * edge - 1  # same edge, contrast pushed outside [0, 1]
    assert sharpness_loss(overshoot, clip=False) < sharpness_loss(edge, clip=False)
    assert torch.allclose(sharpness_loss(overshoot), sharpness_loss(edge.clamp(0, 1)), atol=0.02)
