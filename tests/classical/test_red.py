import pytest
import torch

from defocus.classical import guided_filter, nl_means, red, wiener
from defocus.classical.red import red_luma
from defocus.degrade.blur import blur


def _psnr(a, b):
    return (10 * torch.log10(1 / (a.clamp(0, 1) - b).square().mean())).item()


def test_fixed_point_with_zero_denoiser_is_wiener():
    # one step from f(x) = 0: x = (FᵀF/σ² + λ)⁻¹ Fᵀy/σ², i.e. Wiener with balance λσ²
    y = torch.rand(2, 1, 30, 34, dtype=torch.float64) * 255
    for padding in ("circular", "mirror", "reflect"):
        ours = red_luma(
            y,
            "disk:2",
            lam=0.05,
            sigma=1.5,
            iterations=1,
            padding=padding,
            denoiser=lambda v, s: torch.zeros_like(v),
        )
        ref = wiener(y, "disk:2", 0.05 * 1.5**2, "identity", padding=padding)
        torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("method", ["fixed-point", "steepest-descent"])
def test_improves_and_keeps_chroma(method):
    gen = torch.Generator().manual_seed(4)
    coarse = torch.rand(1, 3, 10, 10, generator=gen)
    x = torch.nn.functional.interpolate(coarse, size=(40, 40), mode="bicubic").clamp(0, 1)
    y = blur(x, "box:3", "reflect")
    out = red(y, "box:3", method=method, iterations=20 if method == "fixed-point" else 60)
    assert out.shape == y.shape
    from defocus.color import rgb_to_ycbcr

    torch.testing.assert_close(rgb_to_ycbcr(out)[:, 1:], rgb_to_ycbcr(y)[:, 1:], atol=1e-5, rtol=0)
    luma = lambda v: rgb_to_ycbcr(v)[:, :1]  # noqa: E731
    assert _psnr(luma(out), luma(x)) > _psnr(luma(y), luma(x)) + 2.0


@pytest.mark.parametrize("denoiser", [guided_filter, nl_means])
def test_denoisers_keep_constants_and_reduce_noise(denoiser):
    flat = torch.full((2, 1, 32, 32), 100.0)
    torch.testing.assert_close(denoiser(flat, 5.0), flat)
    gen = torch.Generator().manual_seed(5)
    noisy = flat + 5.0 * torch.randn(flat.shape, generator=gen)
    assert (denoiser(noisy, 5.0) - flat).std() < 0.7 * (noisy - flat).std()


def test_bad_arguments():
    y = torch.rand(1, 1, 16, 16)
    with pytest.raises(ValueError):
        red(y, "box:3", method="admm")
    with pytest.raises(ValueError):
        red(y, "box:3", denoiser="bm3d")
