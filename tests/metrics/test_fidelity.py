"""PSNR and SSIM cross-checked with scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from metric_fixtures import OMEGA, batch, load_array, luma
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from defocus.metrics import PSNR, SSIM, create_metric, psnr, ssim


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1,
        channel_axis=-1 if a.ndim == 3 else None,
    )


def colour_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    ref = rng.random((37, 51, 3))
    smooth = np.clip(ref + 0.1 * rng.standard_normal(ref.shape), 0, 1)
    gt = load_array(OMEGA / "GT.png")
    grey_as_rgb = np.stack([gt, np.roll(gt, 1, 0), gt[::-1]], -1)[:61, :45]
    return [
        (ref, smooth),
        (grey_as_rgb, np.clip(grey_as_rgb * 0.9 + 0.05, 0, 1)),
        (rng.random((11, 11, 3)), rng.random((11, 11, 3))),
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ssim_matches_skimage_on_luma_and_rgb(dtype: torch.dtype) -> None:
    for ref, res in colour_pairs():
        x, y = batch(res).to(dtype), batch(ref).to(dtype)
        got_y = ssim(x, y).item()
        got_rgb = ssim(x, y, channels="rgb").item()
        assert got_y == pytest.approx(skimage_ssim(luma(res), luma(ref)), abs=1e-4)
        assert got_rgb == pytest.approx(skimage_ssim(res, ref), abs=1e-4)


def test_ssim_matches_skimage_on_calibration_and_photos(photo_crops) -> None:
    gt = load_array(OMEGA / "GT.png")
    for name in ("sharp08", "sharp138"):
        sharp = load_array(OMEGA / f"{name}.png")
        assert ssim(batch(sharp), batch(gt)).item() == pytest.approx(
            skimage_ssim(sharp, gt), abs=1e-6
        )
    for _, crop in photo_crops:
        shifted = np.roll(crop, 1, axis=1)
        assert ssim(batch(shifted), batch(crop), channels="rgb").item() == pytest.approx(
            skimage_ssim(shifted, crop), abs=1e-6
        )


def test_ssim_properties() -> None:
    rng = np.random.default_rng(1)
    a = batch(rng.random((24, 24)))
    assert ssim(a, a).item() == pytest.approx(1.0, abs=1e-12)
    both = ssim(torch.cat([a, a.flip(-1)]), torch.cat([a, a]))
    assert both.shape == (2,) and both[1] < 1


def test_psnr_matches_skimage() -> None:
    for ref, res in colour_pairs():
        x, y = batch(res), batch(ref)
        expected_y = peak_signal_noise_ratio(luma(ref), luma(res), data_range=1)
        assert psnr(x, y).item() == pytest.approx(expected_y, rel=1e-10)
        expected_rgb = peak_signal_noise_ratio(ref, res, data_range=1)
        assert psnr(x, y, channels="rgb").item() == pytest.approx(expected_rgb, rel=1e-10)
        expected_peak = peak_signal_noise_ratio(ref, res, data_range=2)
        assert psnr(x, y, peak=2.0, channels="rgb").item() == pytest.approx(expected_peak)


def test_psnr_of_identical_images_is_inf() -> None:
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(psnr(x, x), torch.full((2,), math.inf))


def test_modules_and_registry() -> None:
    assert isinstance(create_metric("psnr"), PSNR) and isinstance(create_metric("ssim"), SSIM)
    for name in ("psnr", "ssim"):
        metric = create_metric(name, channels="rgb")
        assert metric.name == name and not metric.lower_is_better
        assert metric.inputs == ("restored", "reference")
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(SSIM(channels="rgb")(x, y), ssim(x, y, channels="rgb"))
    torch.testing.assert_close(PSNR()(x, y), psnr(x, y))


def test_bad_input_raises_value_error() -> None:
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="smaller than the 11x11 SSIM window"):
        ssim(x[..., :10, :], x[..., :10, :])
    with pytest.raises(ValueError, match="odd"):
        ssim(x, x, window=10)
    with pytest.raises(ValueError, match="channels"):
        psnr(x, x, channels="lab")
    with pytest.raises(ValueError, match="channels"):
        SSIM(channels="lab")
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(x, x[..., :8])
    with pytest.raises(ValueError, match="floating-point"):
        ssim(x.to(torch.uint8), x.to(torch.uint8))
