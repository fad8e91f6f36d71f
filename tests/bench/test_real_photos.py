"""Scores of real-photo restorations against their input, inside and outside the mask."""

import math

import pytest
import torch

from defocus.bench.real_photos import PATCH, UNCHANGED_PSNR, real_photo_scores
from defocus.degrade import blur, disk_kernel


def _photo(dead_leaves):
    sharp = dead_leaves(64, 64)
    blurry = sharp.clone()
    blurry[..., :, 32:] = blur(sharp, disk_kernel(3.0).float())[..., :, 32:]
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., :, 32:] = 1
    return sharp, blurry, mask


def test_the_input_itself_is_unchanged_with_unit_gains(dead_leaves):
    _, blurry, mask = _photo(dead_leaves)
    scores = real_photo_scores(blurry, blurry, mask)
    assert scores["changed"] is False
    assert scores["q_gain_defocused"] == pytest.approx(1.0)
    assert scores["q_gain_in_focus"] == pytest.approx(1.0)
    assert math.isinf(scores["psnr_in_focus"])


def test_sharpening_the_masked_half_only_shows_in_the_defocused_scores(dead_leaves):
    sharp, blurry, mask = _photo(dead_leaves)
    scores = real_photo_scores(blurry, sharp, mask)  # the "restoration" is the original
    assert scores["changed"] is True
    assert scores["q_gain_defocused"] > 1.1
    assert scores["q_gain_in_focus"] == pytest.approx(1.0)
    assert math.isinf(scores["psnr_in_focus"])


def test_a_change_in_the_in_focus_region_lowers_its_psnr(dead_leaves):
    _, blurry, mask = _photo(dead_leaves)
    changed = blurry.clone()
    changed[..., :, :PATCH] += 0.01
    scores = real_photo_scores(blurry, changed, mask)
    assert 20 < scores["psnr_in_focus"] < UNCHANGED_PSNR
    assert scores["changed"] is True


def test_shapes_must_agree(dead_leaves):
    _, blurry, mask = _photo(dead_leaves)
    with pytest.raises(ValueError, match="shapes differ"):
        real_photo_scores(blurry, blurry[..., :32], mask)


def test_unlabelled_pixels_are_left_out_of_the_region_scores(dead_leaves):
    _, blurry, mask = _photo(dead_leaves)
    known = torch.ones_like(mask)
    known[..., :, :16] = 0  # the left quarter, in focus, is not labelled
    changed = blurry.clone()
    changed[..., :, :16] += 0.05
    scores = real_photo_scores(blurry, changed, mask, known)
    assert math.isinf(scores["psnr_in_focus"]) and scores["changed"] is True
    assert scores["q_gain_in_focus"] == pytest.approx(1.0)
    assert real_photo_scores(blurry, changed, mask)["psnr_in_focus"] < 40
