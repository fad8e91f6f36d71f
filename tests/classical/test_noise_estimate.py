import math

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from defocus.classical import estimate_noise_sigma, noise_to_signal_ratio
from defocus.errors import DefocusError


def test_matches_formula_with_scipy():
    rng = np.random.default_rng(2)
    img = rng.random((20, 31))
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=float)
    expected = math.sqrt(math.pi / 2) * np.abs(convolve2d(img, mask, "valid")).sum() / (6 * 29 * 18)
    got = estimate_noise_sigma(torch.from_numpy(img)[None, None])
    assert got.shape == (1, 1)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_recovers_noise_level_on_smooth_image():
    gen = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 1, 256, dtype=torch.float64).expand(256, 256)
    noisy = ramp + 0.03 * torch.randn(256, 256, generator=gen, dtype=torch.float64)
    sigma = estimate_noise_sigma(noisy[None, None])
    assert sigma.item() == pytest.approx(0.03, rel=0.05)
    nsr = noise_to_signal_ratio(noisy[None, None])
    assert nsr.item() == pytest.approx(sigma.item() ** 2 / noisy.var().item(), rel=1e-6)


def test_too_small():
    with pytest.raises(DefocusError):
        estimate_noise_sigma(torch.zeros(1, 1, 2, 5))
