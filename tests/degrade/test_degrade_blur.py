import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from defocus.degrade import Blur, blur, box_kernel, disk_kernel, pad_image

SCIPY_MODE = {"reflect": "mirror", "replicate": "nearest", "circular": "wrap", "zeros": "constant"}
PADDINGS = list(SCIPY_MODE)


def test_box5_reflect_equals_uniform_filter_mirror():
    x = torch.rand(2, 3, 23, 31, generator=torch.Generator().manual_seed(0))
    out = blur(x, box_kernel(5, dtype=torch.float32), padding="reflect")
    for b in range(2):
        for c in range(3):
            ref = ndi.uniform_filter(x[b, c].double().numpy(), size=5, mode="mirror")
            assert np.abs(out[b, c].double().numpy() - ref).max() < 1e-6


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("shape", [(5, 3), (4, 6), (1, 7)])
def test_asymmetric_psf_matches_scipy_convolve(padding, shape):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 2, 17, 19, generator=g, dtype=torch.float64)
    k = torch.rand(*shape, generator=g, dtype=torch.float64)
    k /= k.sum()
    for method in ("direct", "fft", "opencv"):
        out = blur(x, k, padding=padding, method=method)
        for b in range(2):
            for c in range(2):
                ref = ndi.convolve(x[b, c].numpy(), k.numpy(), mode=SCIPY_MODE[padding])
                np.testing.assert_allclose(out[b, c].numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fft_and_direct_agree(padding, dtype):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(3, 3, 40, 37, generator=g).to(dtype)
    for k in (disk_kernel(7.5), torch.rand(9, 4, generator=g, dtype=torch.float64)):
        k = k / k.sum()
        direct = blur(x, k, padding=padding, method="direct")
        fft = blur(x, k, padding=padding, method="fft")
        cv = blur(x, k, padding=padding, method="opencv")
        assert (direct - fft).abs().max() < 1e-5
        assert (direct - cv).abs().max() < 1e-5
        assert direct.dtype == dtype == fft.dtype == cv.dtype


@pytest.mark.parametrize("padding", PADDINGS)
def test_kernel_larger_than_image(padding):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 1, 6, 5, generator=g, dtype=torch.float64)
    k = disk_kernel(6.0)  # 13x13, wider than the image in both directions
    for method in ("direct", "fft", "opencv"):
        out = blur(x, k, padding=padding, method=method)
        ref = ndi.convolve(x[0, 0].numpy(), k.numpy(), mode=SCIPY_MODE[padding])
        np.testing.assert_allclose(out[0, 0].numpy(), ref, atol=1e-12)


def test_pad_image_reflect101_any_width():
    x = torch.arange(4.0).view(1, 1, 1, 4)
    out = pad_image(x, 0, 0, 7, 7, "reflect")
    ref = np.pad(np.arange(4.0), 7, mode="reflect")  # numpy "reflect" is reflect-101
    assert out.flatten().tolist() == ref.tolist()
    single = pad_image(torch.ones(1, 1, 1, 1), 2, 2, 2, 2, "reflect")
    assert single.shape == (1, 1, 5, 5) and bool((single == 1).all())


def test_per_item_and_per_channel_psfs():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 2, 16, 16, generator=g, dtype=torch.float64)
    kernels = torch.rand(3, 5, 5, generator=g, dtype=torch.float64)
    kernels = kernels / kernels.sum(dim=(-2, -1), keepdim=True)
    out = blur(x, kernels)
    out4 = blur(x, kernels[:, None])
    assert torch.equal(out, out4)
    for b in range(3):
        assert torch.allclose(out[b : b + 1], blur(x[b : b + 1], kernels[b]), atol=1e-14)
    per_channel = torch.stack([kernels[:2]] * 3)  # (3, 2, 5, 5)
    out_c = blur(x, per_channel, method="fft")
    for c in range(2):
        assert torch.allclose(out_c[:, c : c + 1], blur(x[:, c : c + 1], kernels[c]), atol=1e-12)
    with pytest.raises(ValueError, match="does not fit"):
        blur(x, torch.rand(2, 5, 5))


def test_constant_image_is_preserved_and_module():
    x = torch.full((1, 3, 12, 12), 0.4)
    for padding in ("reflect", "replicate", "circular"):
        assert torch.allclose(blur(x, "disk:4", padding=padding), x, atol=1e-6)
    module = Blur("gaussian:1.2", padding="replicate")
    y = torch.rand(2, 1, 10, 10)
    assert torch.equal(module(y), blur(y, module.psf, "replicate"))
    assert "padding='replicate'" in repr(module)


def test_gradients_flow():
    x = torch.rand(1, 1, 5, 4, dtype=torch.float64, requires_grad=True)
    k = disk_kernel(1.0)
    assert torch.autograd.gradcheck(lambda t: blur(t, k, method="direct"), (x,))
    assert torch.autograd.gradcheck(lambda t: blur(t, k, method="fft"), (x,))


def test_opencv_method_refuses_autograd():
    x = torch.rand(1, 1, 8, 8, requires_grad=True)
    with pytest.raises(ValueError, match="opencv"):
        blur(x, disk_kernel(1.0), method="opencv")
    with pytest.raises(ValueError, match="method"):
        blur(x, disk_kernel(1.0), method="magic")
