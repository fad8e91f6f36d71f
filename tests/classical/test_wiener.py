import numpy as np
import pytest
import torch
from skimage.restoration import wiener as sk_wiener

from defocus.classical import Wiener, wiener
from defocus.degrade.blur import blur
from defocus.degrade.kernels import box_kernel, disk_kernel, gaussian_kernel

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
    restored = wiener(y, "gaussian:1.0", 1e-10, padding="mirror")
    assert (restored - x).abs().max() < 1e-3
    circular = wiener(y, "gaussian:1.0", 1e-10, padding="circular")
    assert (circular - x).abs().max() > 1e-2


def test_auto_balance_and_module():
    y = torch.rand(1, 3, 24, 24)
    out = Wiener()(y, "box:3")
    assert out.shape == y.shape and torch.isfinite(out).all()
    with pytest.raises(ValueError):
        wiener(y, "box:3", balance="automatic")
    with pytest.raises(ValueError):
        wiener(y, "box:3", regulariser="tv")
