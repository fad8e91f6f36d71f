"""The gradient-ratio blur map on known blur, and the defocus-detection scores."""

import pytest
import torch

from defocus.blurmap import defocus_scores, gradient_ratio_blur_map
from defocus.degrade import blur, gaussian_kernel
from defocus.degrade.scene import Layer, layered_defocus


def blocks(seed: int = 0) -> torch.Tensor:
    """An all-in-focus texture: random 4x4-pixel blocks (sharp edges everywhere)."""
    small = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(seed))
    return small.double().repeat_interleave(4, -1).repeat_interleave(4, -2)


def test_radius_follows_a_known_gaussian_blur():
    sharp = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    sharp[..., 32:] = 1
    for sigma in (1.0, 2.0, 3.0):
        estimate = gradient_ratio_blur_map(blur(sharp, gaussian_kernel(sigma), "replicate"))
        at_edge = float(estimate.radius[0, 0, 32, 31])
        assert abs(at_edge - 2 * sigma) < 0.35 * 2 * sigma, (sigma, at_edge)


def test_defocused_half_is_detected_and_the_sharp_half_is_not():
    image = blocks()
    alpha = torch.zeros(1, 1, *image.shape[-2:], dtype=torch.float64)
    alpha[..., :, :64] = 1  # left half in focus, over a background blurred by r = 6
    psf = lambda r: gaussian_kernel(r / 2)  # noqa: E731
    scene, radius = layered_defocus(image, 6.0, [Layer(image, alpha, 0.0)], psf)
    estimate = gradient_ratio_blur_map(scene)
    truth = (radius > 1.5).double()
    scores = defocus_scores(estimate.probability, truth)
    assert float(scores["f_beta"]) > 0.5 and float(scores["mae"]) < 0.35
    left, right = estimate.probability[..., :, 8:56], estimate.probability[..., :, 72:120]
    assert float(right.mean()) > 0.9 and float(right.mean()) > float(left.mean()) + 0.3


def test_scores_match_their_definition():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    probability = torch.zeros(1, 1, 4, 4)
    probability[..., :1, :] = 0.9  # 4 of 8 defocused pixels found, no false alarm
    scores = defocus_scores(probability, mask)
    precision, recall = 1.0, 0.5
    expected = 1.3 * precision * recall / (0.3 * precision + recall)
    assert abs(float(scores["f_beta"]) - expected) < 1e-9
    assert abs(float(scores["mae"]) - (4 * 0.1 + 4 * 1.0) / 16) < 1e-6


def test_unlabelled_pixels_count_nowhere():
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    probability = mask.clone()
    probability[..., 3, :] = 1.0  # wrong, but only where nothing is known
    known = torch.ones_like(mask)
    known[..., 3, :] = 0
    scores = defocus_scores(probability, mask, known)
    assert float(scores["f_beta"]) == 1.0 and float(scores["mae"]) == 0.0
    assert float(defocus_scores(probability, mask)["mae"]) == 0.25
    with pytest.raises(ValueError, match="shapes differ"):
        defocus_scores(probability, mask, known[..., :2])
