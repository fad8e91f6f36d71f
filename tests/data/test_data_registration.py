"""Registration and colour matching on synthetic captures made from real photos."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from dataset_helpers import KODAK, corner_rms, photo, synthesise

from defocus.data.colour_transfer import apply_affine_colour, fit_affine_colour, idt_transfer
from defocus.data.registration import (
    largest_valid_rectangle,
    match_blur_radius,
    prepare_pair,
    register,
    residual_shifts,
)
from defocus.degrade import disk_kernel
from defocus.errors import DefocusError
from defocus.io import read_image

CASES = [(1.5, (3.3, -2.1), 2.0), (-2.0, (-4.2, 5.7), 4.0)]


@pytest.mark.parametrize(("angle", "shift", "radius"), CASES)
def test_alignment_within_0_3_px_and_colour_cast_removed(angle, shift, radius):
    gt = photo()
    capture, true = synthesise(gt, angle, shift, radius)
    prepared = prepare_pair(gt, capture, model="affine", colour="affine")
    error = corner_rms(prepared.alignment.matrix, true, gt.shape[:2])
    # Measured: 0.12-0.14 px RMS corner displacement; mean per-channel colour error
    # 0.045 -> 0.004, mean ΔE 11.5 -> 1.0-1.2.
    assert error < 0.3
    assert prepared.alignment.blur_radius == pytest.approx(radius, abs=0.3)
    assert prepared.colour_error_before > 0.04
    assert prepared.colour_error_after < 0.2 * prepared.colour_error_before
    assert prepared.delta_e_before > 10 and prepared.delta_e_after < 2.0
    assert prepared.alignment.residual_px < 0.3
    _, _, height, width = prepared.alignment.crop
    assert prepared.capture.shape == prepared.ground_truth.shape == (height, width, 3)
    assert height > 200 and width > 200


def test_homography_and_other_photo():
    if not KODAK.is_dir():
        pytest.skip("shared Kodak24 photos not available")
    gt = read_image(KODAK / "kodim05.png").pixels.numpy().transpose(1, 2, 0)[100:356, 120:376]
    gt = gt.astype(np.float64)
    capture, true = synthesise(gt, 1.0, (-2.6, 1.8), 3.0)
    prepared = prepare_pair(gt, capture, model="homography", colour="idt")
    assert corner_rms(prepared.alignment.matrix, true, gt.shape[:2]) < 0.3
    assert prepared.colour_error_after < 0.25 * prepared.colour_error_before


def test_translation_model_and_residual_shifts():
    gt = photo()
    plain = {"gain": np.ones(3), "offset": np.zeros(3)}
    shifted, _ = synthesise(gt, 0.0, (0.6, -0.4), 2.0, **plain)
    moved = register(gt, shifted, model="translation")
    assert moved.matrix[:2, 2] == pytest.approx([0.6, -0.4], abs=0.1)
    assert moved.residual_px < 0.1
    # residual_shifts reports a known sub-pixel offset between two images
    grey = ndi.convolve(gt.mean(axis=2), disk_kernel(2.0).numpy(), mode="mirror")
    offset = ndi.shift(grey, (-0.3, 0.5), order=3, mode="mirror")  # content moves by (+0.5, -0.3)
    shifts = residual_shifts(grey[8:-8, 8:-8], offset[8:-8, 8:-8])
    assert np.nanmedian(shifts, axis=0) == pytest.approx([0.5, -0.3], abs=0.05)


def test_blur_radius_matching_ignores_gain():
    gt = photo().mean(axis=2)
    k = disk_kernel(3.0).numpy()
    blurry = 0.7 * ndi.convolve(gt, k, mode="mirror") + 0.1
    assert match_blur_radius(gt, blurry) == pytest.approx(3.0, abs=0.25)
    assert match_blur_radius(gt, gt) == 0.0


def test_affine_colour_fit_is_exact_for_affine_casts():
    rng = np.random.default_rng(0)
    reference = rng.random((5000, 3))
    matrix = np.array([[1.1, 0.05, 0.0], [0.0, 0.9, 0.1], [0.02, 0.0, 0.8]])
    cast = reference @ matrix + np.array([0.03, -0.02, 0.05])
    fitted = fit_affine_colour(cast, reference)
    np.testing.assert_allclose(apply_affine_colour(cast, fitted), reference, atol=1e-10)


def test_idt_reaches_the_target_distribution():
    rng = np.random.default_rng(1)
    source = rng.normal([0.3, 0.5, 0.4], [0.05, 0.1, 0.08], size=(20000, 3))
    target = rng.normal([0.6, 0.2, 0.5], [0.1, 0.03, 0.12], size=(20000, 3))
    target[:, 1] += 0.5 * (target[:, 0] - 0.6)  # correlated channels
    out = idt_transfer(source, target, iterations=20)
    np.testing.assert_allclose(out.mean(axis=0), target.mean(axis=0), atol=5e-3)
    np.testing.assert_allclose(np.cov(out.T), np.cov(target.T), atol=5e-4)
    assert np.corrcoef(out[:, 0], source[:, 0])[0, 1] > 0.5  # a transport, not a shuffle


def test_largest_valid_rectangle():
    mask = np.zeros((50, 60), bool)
    mask[5:45, 8:55] = True
    mask[5:7, 8:12] = False  # a notch in a corner
    top, left, height, width = largest_valid_rectangle(mask)
    assert mask[top : top + height, left : left + width].all()
    assert height * width >= 38 * 47 - 2 * 47  # at most one side trimmed by the notch


def test_large_rotation_uses_feature_start_and_unrelated_images_fail():
    gt = photo()
    capture, true = synthesise(gt, 35.0, (4.0, -3.0), 2.0)
    alignment = register(gt, capture)
    assert corner_rms(alignment.matrix, true, gt.shape[:2]) < 0.3
    noise = np.random.default_rng(0).random(gt.shape).astype(np.float32)
    with pytest.raises(DefocusError, match="registration failed"):
        register(gt, noise)
