import numpy as np
import pytest
import torch
from skimage.restoration import wiener as sk_wiener

from defocus.assets import sample_image_path
from defocus.classical import Wiener, wiener
from defocus.classical.wiener import gcv_choice
from defocus.degrade.blur import as_psf_tensor, blur
from defocus.degrade.kernels import box_kernel, disk_kernel, gaussian_kernel
from defocus.io import read_image

KERNELS = [disk_kernel(2.0), gaussian_kernel(1.2), box_kernel(5), box_kernel(4)]


@pytest.mark.parametrize("kernel", KERNELS, ids=["disk", "gauss", "box5", "box4"])
@pytest.mark.parametrize("regulariser", ["identity", "laplacian"])
def test_circular_equals_skimage(kernel, regulariser):
    rng = np.random.default_rng(0)
    images = rng.random((2, 3, 33, 40))
    psf = kernel.numpy()
    ours = wiener(torch.from_numpy(images), kernel, 0.03, regulariser, padding="circular")
    for b in range(2):
        for c in range(3):
            if regulariser == "identity":
                reg = np.zeros_like(psf)
                reg[psf.shape[0] // 2, psf.shape[1] // 2] = 1.0
                ref = sk_wiener(images[b, c], psf, 0.03, reg=reg, clip=False)
            else:
                ref = sk_wiener(images[b, c], psf, 0.03, clip=False)
            np.testing.assert_allclose(ours[b, c].numpy(), ref, atol=1e-4, rtol=0)


def test_per_image_balance_and_float32():
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    balance = torch.tensor([0.01, 0.1], dtype=torch.float64)
    both = wiener(x, "disk:2", balance)
    for i in range(2):
        single = wiener(x[i : i + 1], "disk:2", float(balance[i]))
        torch.testing.assert_close(both[i : i + 1], single)
    out32 = wiener(x.float(), "disk:2", balance.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), both, atol=1e-4, rtol=0)


def test_mirror_inverts_reflect_blur_exactly():
    # reflect-101 blur with a symmetric PSF is diagonal on the mirror domain
    x = torch.rand(1, 1, 40, 45, dtype=torch.float64)
    y = blur(x, "gaussian:1.0", padding="reflect")
    restored = wiener(y, "gaussian:1.0", 1e-10, "identity", padding="mirror")
    assert (restored - x).abs().max() < 1e-3
    circular = wiener(y, "gaussian:1.0", 1e-10, "identity", padding="circular")
    assert (circular - x).abs().max() > 1e-2


def test_auto_balance_and_module():
    y = torch.rand(1, 3, 24, 24)
    out = Wiener()(y, "box:3")
    assert out.shape == y.shape and torch.isfinite(out).all()
    torch.testing.assert_close(out, wiener(y, "box:3", "gcv"))
    for rule in ("nsr", "gcv"):
        assert torch.isfinite(Wiener(rule, "identity", "reflect")(y, "box:3")).all()
    with pytest.raises(ValueError):
        wiener(y, "box:3", balance="automatic")
    with pytest.raises(ValueError):
        wiener(y, "box:3", regulariser="tv")


def _psnr(restored: torch.Tensor, sharp: torch.Tensor) -> float:
    return float(-10 * torch.log10((restored.clamp(0, 1) - sharp).square().mean()))


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    # the bundled 256x256 photo crop, grey, float64: real image statistics
    pixels = read_image(sample_image_path()).pixels.double()
    return pixels.mean(dim=0, keepdim=True)[None]


def _noisy(sharp: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    blurred = blur(sharp, "disk:3", padding="reflect")
    noise = torch.randn(
        blurred.shape, generator=torch.Generator().manual_seed(seed), dtype=sharp.dtype
    )
    return blurred + sigma * noise


def test_gcv_balance_near_oracle_on_noisy_photo(photo):
    y = _noisy(photo, 0.01, seed=1)
    auto = _psnr(wiener(y, "disk:3"), photo)
    oracle = max(_psnr(wiener(y, "disk:3", float(lam)), photo) for lam in np.logspace(-6, 0, 49))
    assert auto > _psnr(y, photo) + 1.0
    assert auto > _psnr(wiener(y, "disk:3", "nsr", "identity"), photo) + 3.0  # old default
    assert auto > _psnr(wiener(y, "disk:3", "nsr"), photo) + 0.3
    assert auto > oracle - 0.5
    # other working domains take the balance chosen on the mirror domain
    assert _psnr(wiener(y, "disk:3", padding="reflect"), photo) > _psnr(y, photo) + 1.0


def test_gcv_balance_small_without_noise(photo):
    y = blur(photo, "disk:3", padding="reflect")
    lam = gcv_choice(y, as_psf_tensor("disk:3", y), "laplacian")
    assert float(lam) < 1e-4
    assert _psnr(wiener(y, "disk:3"), photo) > _psnr(y, photo) + 15.0


def test_gcv_balance_per_image_grows_with_noise(photo):
    crop = photo[..., 64:192, 64:192]
    y = torch.cat([_noisy(crop, 0.002, seed=2), _noisy(crop, 0.02, seed=3)])
    for regulariser in ("laplacian", "identity"):
        lam = gcv_choice(y, as_psf_tensor("disk:3", y), regulariser)
        assert lam.shape == (2, 1)
        assert float(lam[1, 0]) > 5 * float(lam[0, 0])
        single = gcv_choice(y[1:], as_psf_tensor("disk:3", y), regulariser)
        torch.testing.assert_close(single, lam[1:])
