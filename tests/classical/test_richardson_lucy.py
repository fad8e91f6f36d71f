import numpy as np
import pytest
import torch
from skimage.restoration import richardson_lucy as sk_rl

from defocus.classical import RichardsonLucy, richardson_lucy
from defocus.degrade.kernels import box_kernel, disk_kernel, gaussian_kernel


@pytest.mark.parametrize("kernel", [disk_kernel(2.0), gaussian_kernel(1.0), box_kernel(5)])
def test_zero_padding_equals_skimage(kernel):
    rng = np.random.default_rng(1)
    images = rng.random((2, 2, 30, 37))
    ours = richardson_lucy(torch.from_numpy(images), kernel, 15, padding="zeros", init=0.5)
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
