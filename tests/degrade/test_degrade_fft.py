import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from defocus.degrade import blur, circular_convolve, psf_to_otf


def test_otf_applies_circular_convolution():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(12, 10, generator=g, dtype=torch.float64)
    k = torch.rand(5, 4, generator=g, dtype=torch.float64)
    otf = psf_to_otf(k, x.shape)
    y = torch.fft.ifft2(torch.fft.fft2(x) * otf).real
    ref = ndi.convolve(x.numpy(), k.numpy(), mode="wrap")
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    half = psf_to_otf(k, x.shape, onesided=True)
    assert half.shape == (12, 6)
    torch.testing.assert_close(half, otf[:, :6])


def test_conj_otf_is_the_adjoint():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(9, 11, generator=g, dtype=torch.float64)
    y = torch.rand(9, 11, generator=g, dtype=torch.float64)
    k = torch.rand(3, 5, generator=g, dtype=torch.float64)
    otf = psf_to_otf(k, x.shape)
    kx = torch.fft.ifft2(torch.fft.fft2(x) * otf).real
    kty = torch.fft.ifft2(torch.fft.fft2(y) * otf.conj()).real
    assert float((kx * y).sum()) == pytest.approx(float((x * kty).sum()), rel=1e-12)


def test_circular_convolve_matches_blur_and_batches():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 16, 15, generator=g, dtype=torch.float64)
    k = torch.rand(2, 1, 5, 5, generator=g, dtype=torch.float64)
    out = circular_convolve(x, k)
    torch.testing.assert_close(out, blur(x, k, padding="circular", method="direct"))
    with pytest.raises(ValueError, match="does not fit"):
        psf_to_otf(torch.ones(20, 3), (16, 16))
