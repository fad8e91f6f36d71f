import pytest
import torch
import torch.nn.functional as F

from defocus.errors import DefocusError
from defocus.losses import (
    CompositeLoss,
    charbonnier_loss,
    create_loss,
    frequency_loss,
    l1_loss,
    list_losses,
    loss_inputs,
)


def images() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.rand(3, 1, 12, 10), torch.rand(3, 1, 12, 10)


def test_registered_names():
    assert {"l1", "charbonnier", "frequency", "sharpness"} <= set(list_losses())
    assert loss_inputs("l1") == ("restored", "reference")
    assert loss_inputs("sharpness") == ("restored",)


def test_create_loss_passes_options():
    restored, reference = images()
    loss = create_loss("charbonnier", eps=0.1, reduction="none")
    torch.testing.assert_close(
        loss(restored, reference), charbonnier_loss(restored, reference, 0.1, "none")
    )
    with pytest.raises(DefocusError, match="l1"):
        create_loss("no-such-loss")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_total_is_weighted_sum_of_terms(reduction: str):
    restored, reference = images()
    loss = CompositeLoss(
        [
            {"name": "l1", "weight": 1.0},
            {"name": "frequency", "weight": 0.1},
            {"name": "charbonnier", "weight": 2, "eps": 0.05},
        ],
        reduction=reduction,
    )
    total, terms = loss(restored, reference)
    expected_terms = {
        "l1": l1_loss(restored, reference, reduction),
        "frequency": frequency_loss(restored, reference, reduction),
        "charbonnier": charbonnier_loss(restored, reference, 0.05, reduction),
    }
    assert list(terms) == list(expected_terms)
    for name, value in expected_terms.items():
        torch.testing.assert_close(terms[name], value)
    expected = expected_terms["l1"] + 0.1 * expected_terms["frequency"]
    torch.testing.assert_close(total, expected + 2 * expected_terms["charbonnier"])
    assert total.shape == ((3,) if reduction == "none" else ())


def test_default_weight_and_gradient():
    restored, reference = images()
    restored.requires_grad_(True)
    total, _ = CompositeLoss([{"name": "l1"}])(restored, reference)
    torch.testing.assert_close(total, F.l1_loss(restored, reference))
    total.backward()
    assert torch.isfinite(restored.grad).all() and restored.grad.abs().sum() > 0


def test_lower_is_better():
    torch.manual_seed(1)
    sharp = torch.rand(2, 1, 16, 16)
    blurred = F.avg_pool2d(sharp, 5, stride=1, padding=2, count_include_pad=False)
    loss = CompositeLoss([{"name": "l1"}, {"name": "frequency", "weight": 0.1}], "none")
    assert (loss(sharp, sharp)[0] < loss(blurred, sharp)[0]).all()


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([], "at least one"),
        ([{"weight": 1.0}], "needs a 'name'"),
        ([{"name": "l1"}, {"name": "l1", "weight": 2}], "twice"),
        ([{"name": "l1", "weight": "big"}], "weight must be a number"),
        ([{"name": "l1", "reduction": "sum"}], "composite"),
        ([{"name": "lpips-ish"}], "unknown loss"),
    ],
)
def test_bad_configs(terms, message: str):
    with pytest.raises(DefocusError, match=message):
        CompositeLoss(terms)


def test_missing_reference():
    restored, _ = images()
    with pytest.raises(ValueError, match="reference"):
        CompositeLoss([{"name": "l1"}])(restored)


def test_l1_minus_beta_q():
    sharpness = pytest.importorskip("defocus.losses.sharpness")
    restored, reference = images()
    beta = 0.1
    loss = CompositeLoss([{"name": "l1", "weight": 1.0}, {"name": "sharpness", "weight": beta}])
    total, terms = loss(restored, reference)
    minus_q = sharpness.sharpness_loss(restored)
    torch.testing.assert_close(terms["sharpness"], minus_q)
    torch.testing.assert_close(total, l1_loss(restored, reference) + beta * minus_q)


def test_terms_get_the_images_they_declare():
    from defocus.losses import LOSSES, Loss

    seen = {}

    class Spy(Loss):
        inputs = ("restored", "blurry")

        def forward(self, restored, blurry):
            seen["args"] = (restored, blurry)
            return (restored - blurry).abs().mean()

    LOSSES.register("test-spy")(Spy)
    try:
        restored, reference = images()
        loss = CompositeLoss([{"name": "l1"}, {"name": "test-spy"}])
        assert loss.inputs == ("restored", "reference", "blurry")
        blurry = reference * 0.5
        loss(restored, reference, blurry=blurry)
        assert seen["args"][0] is restored and seen["args"][1] is blurry
        with pytest.raises(ValueError, match="'test-spy' needs the blurry image"):
            loss(restored, reference)
        with pytest.raises(ValueError, match="not loss inputs: sharp"):
            loss(restored, reference, sharp=blurry)
    finally:
        LOSSES._factories.pop("test-spy")
