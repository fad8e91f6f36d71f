"""The blur-map loss: log-radius L1 where known plus cross-entropy where a mask is known."""

import math

import pytest
import torch

from defocus.losses import blur_map_loss, create_loss


def raw_map(radius: float, logit: float, size=(1, 1, 4, 4)) -> torch.Tensor:
    return torch.cat([torch.full(size, math.log1p(radius)), torch.full(size, logit)], dim=1)


def test_value_matches_the_formula() -> None:
    truth = torch.full((1, 1, 4, 4), 3.0)
    mask = torch.ones(1, 1, 4, 4)
    loss = blur_map_loss(raw_map(1.0, 0.0), truth, mask, mask_weight=2.0)
    expected = abs(math.log(2) - math.log(4)) + 2.0 * math.log(2)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_unknown_pixels_do_not_count() -> None:
    truth = torch.full((1, 1, 4, 4), 3.0)
    truth[..., :2] = -1  # radius unknown here; the estimate there is irrelevant
    raw = raw_map(3.0, 0.0)
    raw[:, 0, :, :2] = 50.0
    mask = -torch.ones(1, 1, 4, 4)  # no mask anywhere: only the radius term counts
    assert blur_map_loss(raw, truth, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_photos_with_only_a_mask_train_only_the_logit() -> None:
    raw = raw_map(2.0, 0.3).requires_grad_()
    loss = blur_map_loss(raw, -torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4))
    loss.backward()
    assert raw.grad[:, 0].abs().max() == 0 and raw.grad[:, 1].abs().max() > 0


def test_registered_with_declared_inputs_and_per_image_reduction() -> None:
    loss = create_loss("blur-map", reduction="none")
    assert loss.inputs == ("restored", "blur_map", "defocus_mask")
    truth = torch.stack([torch.full((1, 4, 4), 1.0), torch.full((1, 4, 4), 0.0)])
    raw = torch.cat([raw_map(1.0, 5.0), raw_map(1.0, -5.0)])
    values = loss(raw, truth, (truth > 0.5).float())
    assert values.shape == (2,) and values[0] < 0.01 and values[1] > 0.5


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="raw map"):
        blur_map_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))
