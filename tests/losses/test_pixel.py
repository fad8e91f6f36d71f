import pytest
import torch
import torch.nn.functional as F

from defocus.losses import CharbonnierLoss, L1Loss, charbonnier_loss, create_loss, l1_loss
from defocus.losses.pixel import relative_l1_loss


def pair() -> tuple[torch.Tensor, torch.Tensor]:
    restored = torch.tensor([[[[0.1, 0.5], [0.9, 0.3]]], [[[0.0, 0.0], [1.0, 1.0]]]])
    reference = torch.tensor([[[[0.4, 0.5], [0.5, 0.3]]], [[[1.0, 0.0], [1.0, 0.5]]]])
    return restored, reference


def test_l1_by_hand():
    restored, reference = pair()
    per_image = l1_loss(restored, reference, reduction="none")
    # image 0: |−0.3| + 0 + 0.4 + 0 = 0.7 over 4; image 1: 1 + 0 + 0 + 0.5 = 1.5 over 4
    torch.testing.assert_close(per_image, torch.tensor([0.175, 0.375]))
    torch.testing.assert_close(l1_loss(restored, reference), torch.tensor(0.275))
    torch.testing.assert_close(l1_loss(restored, reference, reduction="sum"), torch.tensor(0.55))
    torch.testing.assert_close(L1Loss()(restored, reference), F.l1_loss(restored, reference))


def test_charbonnier_by_hand():
    restored = torch.tensor([[[[0.3, 0.0], [-0.3, 0.96]]]])
    reference = torch.zeros(1, 1, 2, 2)
    # sqrt(d² + 0.4²): 0.5, 0.4, 0.5, 1.04
    expected = torch.tensor([(0.5 + 0.4 + 0.5 + 1.04) / 4])
    value = charbonnier_loss(restored, reference, eps=0.4, reduction="none")
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(CharbonnierLoss(eps=0.4)(restored, reference), expected[0])


def test_charbonnier_tends_to_l1_and_default_eps():
    restored, reference = pair()
    tiny = charbonnier_loss(restored, reference, eps=1e-8)
    torch.testing.assert_close(tiny, l1_loss(restored, reference))
    # default ε = 1e-3: a perfect restoration costs exactly ε
    torch.testing.assert_close(charbonnier_loss(reference, reference), torch.tensor(1e-3))


@pytest.mark.parametrize("loss", [l1_loss, charbonnier_loss])
def test_reduction_semantics(loss):
    restored, reference = torch.rand(3, 2, 5, 4), torch.rand(3, 2, 5, 4)
    none = loss(restored, reference, reduction="none")
    assert none.shape == (3,)
    torch.testing.assert_close(loss(restored, reference, reduction="mean"), none.mean())
    torch.testing.assert_close(loss(restored, reference, reduction="sum"), none.sum())
    with pytest.raises(ValueError, match="reduction"):
        loss(restored, reference, reduction="max")


@pytest.mark.parametrize("module", [L1Loss, CharbonnierLoss])
def test_module_rejects_bad_reduction(module):
    with pytest.raises(ValueError, match="reduction"):
        module(reduction="avg")


@pytest.mark.parametrize("loss", [l1_loss, charbonnier_loss])
def test_lower_is_better(loss):
    torch.manual_seed(0)
    sharp = torch.rand(2, 1, 16, 16)
    blurred = F.avg_pool2d(sharp, 5, stride=1, padding=2, count_include_pad=False)
    assert (loss(sharp, sharp, reduction="none") < loss(blurred, sharp, reduction="none")).all()


def test_charbonnier_gradcheck():
    restored = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    reference = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: charbonnier_loss(x, reference), (restored,))


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        l1_loss(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 5))


def test_relative_l1_by_hand_and_per_image_weight():
    reference = torch.zeros(2, 1, 2, 2)
    blurry = torch.tensor([0.1, 0.01]).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    restored = torch.tensor([0.05, 0.02]).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    per_image = relative_l1_loss(restored, reference, blurry, floor=0.0, reduction="none")
    torch.testing.assert_close(per_image, torch.tensor([0.5, 2.0]))
    # the sharp image's damage counts as much as the blurred one's gain
    assert float(relative_l1_loss(restored, reference, blurry, floor=0.0)) == pytest.approx(1.25)
    module = create_loss("relative-l1")
    assert module.inputs == ("restored", "reference", "blurry")
    assert float(module(blurry, reference, blurry)) < 1  # the input itself: just under 1


def test_relative_l1_gradcheck_and_no_gradient_through_the_input():
    reference = torch.rand(2, 1, 5, 4, dtype=torch.float64)
    blurry = torch.rand(2, 1, 5, 4, dtype=torch.float64, requires_grad=True)
    restored = torch.rand(2, 1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: relative_l1_loss(x, reference, blurry.detach()), (restored,)
    )
    relative_l1_loss(restored, reference, blurry).backward()
    assert blurry.grad is None
