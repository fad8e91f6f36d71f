"""DCT-II via the FFT against scipy, and symmetric blur in the DCT domain."""

import numpy as np
import pytest
import scipy.fft
import torch
from scipy import ndimage

from defocus.degrade import disk_kernel, gaussian_kernel
from defocus.operators import dct as dct_module
from defocus.operators.dct import dct, dct2, idct, idct2, symmetric_eigenvalues


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13, 64])
def test_dct_and_inverse_match_scipy(n: int):
    x = torch.rand(3, n, dtype=torch.float64)
    expected = scipy.fft.dct(x.numpy(), type=2)
    np.testing.assert_allclose(dct(x).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(idct(torch.from_numpy(expected)).numpy(), x.numpy(), atol=1e-12)


def test_2d_transform_along_the_last_two_axes():
    x = torch.rand(2, 7, 9, dtype=torch.float64)
    expected = scipy.fft.dctn(x.numpy(), type=2, axes=(-2, -1))
    np.testing.assert_allclose(dct2(x).numpy(), expected, atol=1e-12)
    torch.testing.assert_close(idct2(dct2(x)), x)
    torch.testing.assert_close(dct(x, dim=1), dct(x.transpose(1, 2), dim=2).transpose(1, 2))


@pytest.mark.parametrize("kernel", [disk_kernel(3.0), gaussian_kernel(1.2)])
def test_eigenvalues_diagonalise_blur_with_half_sample_symmetric_borders(kernel):
    x = torch.rand(20, 26, dtype=torch.float64)
    # scipy's "reflect" mode is the half-sample symmetric extension (d c b a | a b c d)
    expected = ndimage.convolve(x.numpy(), kernel.numpy(), mode="reflect")
    actual = idct2(dct2(x) * symmetric_eigenvalues(kernel, (20, 26)))
    np.testing.assert_allclose(actual.numpy(), expected, atol=1e-12)


def test_eigenvalues_of_a_column_slice_are_that_slice_of_all():
    kernel = disk_kernel(2.0)[None].repeat(3, 1, 1)
    whole = symmetric_eigenvalues(kernel, (11, 17))
    torch.testing.assert_close(
        symmetric_eigenvalues(kernel, (11, 17), slice(5, 12)), whole[..., 5:12]
    )


def test_large_transforms_run_in_slices_with_the_same_result(monkeypatch):
    x = torch.rand(1, 37, 53, dtype=torch.float64)
    whole = dct2(x)
    monkeypatch.setattr(dct_module, "CHUNK_ELEMENTS", 100)  # slices of 2-3 rows/columns
    torch.testing.assert_close(dct2(x), whole)
    torch.testing.assert_close(idct2(whole), x)
