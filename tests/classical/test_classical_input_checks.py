"""Classical methods and the blur refuse bad parameters and images with clear errors."""

import numpy as np
import pytest
import torch

from defocus.classical import BLIND_METHODS, create_method, list_methods
from defocus.classical.richardson_lucy import richardson_lucy
from defocus.classical.wiener import wiener
from defocus.degrade import blur, disk_kernel, gaussian_kernel
from defocus.degrade.kernels import box_kernel, normalise_psf, ring_kernel
from defocus.errors import DefocusError
from defocus.limits import MAX_ITERATIONS, MAX_PSF_SIDE

Y = torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("balance", [-1.0, 0.0, float("nan"), float("inf"), torch.tensor([-1.0])])
def test_wiener_balance_must_be_positive_and_finite(balance):
    with pytest.raises(ValueError, match="balance"):
        wiener(Y, "disk:2", balance=balance)


@pytest.mark.parametrize("iterations", [0, -3, MAX_ITERATIONS + 1, 2.5])
def test_richardson_lucy_iterations_are_bounded(iterations):
    with pytest.raises(ValueError, match="iterations"):
        richardson_lucy(Y, "disk:2", iterations=iterations)


@pytest.mark.parametrize("name", [m for m in list_methods() if m not in BLIND_METHODS])
def test_methods_refuse_nan_empty_and_small_images(name):
    method = create_method(name)
    psf = disk_kernel(2)
    bad = Y.clone()
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        method(bad, psf)
    with pytest.raises(ValueError, match="empty"):
        method(Y[:0], psf)
    with pytest.raises(ValueError, match="smaller than the 5x5 PSF"):
        method(Y[..., :3, :], psf)


def test_blur_refuses_integer_and_empty_images():
    with pytest.raises(ValueError, match="floating-point"):
        blur((Y * 255).to(torch.uint8), "disk:1")
    with pytest.raises(TypeError, match="Tensor"):
        blur(Y.numpy(), "disk:1")
    with pytest.raises(ValueError, match="empty"):
        blur(Y[:0], "disk:1")
    with pytest.raises(ValueError, match="NaN"):
        blur(Y, torch.full((3, 3), float("nan")))


@pytest.mark.parametrize(
    ("build", "value"),
    [(disk_kernel, 1e9), (ring_kernel, 2000.0), (gaussian_kernel, 1e6), (box_kernel, 10**9)],
)
def test_kernels_larger_than_the_limit_are_refused_before_allocating(build, value):
    with pytest.raises(ValueError, match=f"at most {MAX_PSF_SIDE} taps"):
        build(value)


def test_largest_allowed_kernels_are_built():
    assert disk_kernel((MAX_PSF_SIDE - 1) / 2).shape == (MAX_PSF_SIDE, MAX_PSF_SIDE)
    assert box_kernel(MAX_PSF_SIDE).shape == (MAX_PSF_SIDE, MAX_PSF_SIDE)


@pytest.mark.parametrize(
    "array",
    [
        np.array([["a", "b"]]),
        np.zeros((2, 2), dtype=[("a", "f4")]),
        np.ones((2, 2)) * 1j,
        np.ones((2, 2), dtype=bool),
        np.full((3, 3), 1e308),
        np.zeros((3, 3)),
        np.array([[1.0, -0.5]]),
        np.ones((2, 2, 2)),
    ],
    ids=["str", "structured", "complex", "bool", "overflow", "zero", "negative", "3d"],
)
def test_unusable_psf_arrays_raise_defocus_error(array):
    with pytest.raises(DefocusError, match="PSF"):
        normalise_psf(array, "k.npy")


def test_defocus_error_is_a_value_error():
    assert issubclass(DefocusError, ValueError)
