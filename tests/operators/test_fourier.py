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


def test_folded_otf_equals_the_circular_operator_of_the_small_domain():
    g = torch.Generator().manual_seed(5)
    k = torch.rand(5, 3, generator=g, dtype=torch.float64)
    x = torch.rand(1, 1, 2, 7, generator=g, dtype=torch.float64)
    via_otf = torch.fft.ifft2(torch.fft.fft2(x) * psf_to_otf(k, (2, 7), fold=True)).real
    # reference: the circular convolution written out, taps wrapped modulo the size
    expected = torch.zeros_like(x)
    for i in range(5):
        for j in range(3):
            shifted = torch.roll(x, shifts=(i - 2, j - 1), dims=(-2, -1))
            expected += k[i, j] * shifted
    torch.testing.assert_close(via_otf, expected)
    laplacian = torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float64)
    one_row = psf_to_otf(laplacian, (1, 6), fold=True)
    torch.testing.assert_close(one_row, psf_to_otf(torch.tensor([[-1.0, 2, -1]]).double(), (1, 6)))
