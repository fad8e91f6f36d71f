import numpy as np
import pytest
import torch
from skimage.restoration import richardson_lucy as sk_rl

from defocus.classical import RichardsonLucy, richardson_lucy
from defocus.degrade.kernels import box_kernel, disk_kernel, gaussian_kernel


@pytest.mark.parametrize("method", ["auto", "fft", "opencv", "direct"])
@pytest.mark.parametrize("kernel", [disk_kernel(2.0), gaussian_kernel(1.0), box_kernel(5)])
def test_zero_padding_equals_skimage(kernel, method):
    rng = np.random.default_rng(1)
    images = rng.random((2, 2, 30, 37))
    y = torch.from_numpy(images)
    ours = richardson_lucy(y, kernel, 15, padding="zeros", init=0.5, method=method)
    for b in range(2):
        for c in range(2):
            ref = sk_rl(images[b, c], kernel.numpy(), 15, clip=False)
            np.testing.assert_allclose(ours[b, c].numpy(), ref, atol=1e-4, rtol=0)


def test_float32_positive_and_module():
    y = torch.rand(2, 3, 32, 32)
    out = RichardsonLucy(iterations=5)(y, "disk:1.5")
    assert out.dtype == torch.float32 and out.shape == y.shape
    assert (out >= 0).all()
    start = torch.full_like(y, 0.5)
    torch.testing.assert_close(
        richardson_lucy(y, "disk:1.5", 3, init=start), richardson_lucy(y, "disk:1.5", 3, init=0.5)
    )
    with pytest.raises(ValueError):
        richardson_lucy(y, "disk:1.5", 3, init="blurry")
    with pytest.raises(ValueError):
        richardson_lucy(y, "disk:1.5", 3, padding="wrap")


@pytest.mark.parametrize("padding", ["zeros", "circular", "reflect", "replicate", "mirror"])
@pytest.mark.parametrize("kernel", [disk_kernel(1.5), box_kernel(4), torch.rand(3, 4)])
def test_direct_equals_fft(kernel, padding):
    # Even-sized and asymmetric kernels too; "mirror" with a symmetric PSF runs directly
    # on the image with reflect-101 borders instead of on the mirror domain.
    y = torch.rand(2, 3, 20, 23, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fft = richardson_lucy(y, kernel, 10, padding=padding, method="fft")
    for method in ("opencv", "direct"):
        direct = richardson_lucy(y, kernel, 10, padding=padding, method=method)
        torch.testing.assert_close(direct, fft, atol=1e-9, rtol=1e-9)


def test_gradients_flow_through_the_fft_path():
    y = torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True)
    richardson_lucy(y, "disk:1", 3, padding="zeros").sum().backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()
    with pytest.raises(ValueError, match="method"):
        richardson_lucy(y.detach(), "disk:1", 3, method="spatial")
