import pytest
import torch

from defocus.degrade.noise import AddNoise, add_noise


def test_gaussian_statistics_and_reproducibility():
    x = torch.full((2, 3, 64, 64), 0.5, dtype=torch.float64)
    y1 = add_noise(x, 0.05, torch.Generator().manual_seed(7))
    y2 = add_noise(x, 0.05, torch.Generator().manual_seed(7))
    y3 = add_noise(x, 0.05, torch.Generator().manual_seed(8))
    assert torch.equal(y1, y2) and not torch.equal(y1, y3)
    noise = y1 - x
    assert float(noise.mean()) == pytest.approx(0.0, abs=2e-3)
    assert float(noise.std()) == pytest.approx(0.05, rel=0.03)


def test_per_image_sigma_and_clip():
    x = torch.full((2, 1, 128, 128), 0.5)
    y = add_noise(x, torch.tensor([0.01, 0.2]), torch.Generator().manual_seed(0))
    assert float((y[0] - 0.5).std()) == pytest.approx(0.01, rel=0.05)
    assert float((y[1] - 0.5).std()) == pytest.approx(0.2, rel=0.05)
    clipped = add_noise(x, 0.5, torch.Generator().manual_seed(0), clip=True)
    assert float(clipped.min()) == 0.0 and float(clipped.max()) == 1.0
    with pytest.raises(ValueError):
        add_noise(x, torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError):
        add_noise(x, -0.1)


def test_poisson_gaussian_variance():
    levels = torch.tensor([0.1, 0.4, 0.9], dtype=torch.float64).view(1, 3, 1, 1)
    x = levels.expand(1, 3, 200, 200)
    peak, sigma = 100.0, 0.02
    y = add_noise(x, sigma, torch.Generator().manual_seed(1), poisson_peak=peak)
    var = (y - x).var(dim=(-2, -1)).flatten()
    expected = levels.flatten() / peak + sigma**2
    torch.testing.assert_close(var, expected, rtol=0.05, atol=0)
    assert torch.allclose(y.mean(dim=(-2, -1)).flatten(), levels.flatten(), atol=3e-3)


def test_module():
    module = AddNoise(0.1, poisson_peak=50.0, clip=True)
    x = torch.rand(1, 3, 8, 8)
    a = module(x, torch.Generator().manual_seed(3))
    b = add_noise(x, 0.1, torch.Generator().manual_seed(3), poisson_peak=50.0, clip=True)
    assert torch.equal(a, b)
    assert "poisson_peak=50.0" in repr(module)
