"""The blur operator: adjointness, agreement of its paths, and independent references."""

import itertools

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from defocus.degrade import disk_kernel, gaussian_kernel
from defocus.operators import BOUNDARIES, BlurOperator, extend, extend_adjoint
from defocus.operators import blur as blur_module
from defocus.operators.boundary import boundary_name

SIZES = ((9, 9), (8, 8), (7, 12))  # odd, even, non-square
SCIPY_MODES = {
    "reflect-101": "mirror",
    "symmetric": "reflect",
    "replicate": "nearest",
    "circular": "wrap",
    "zeros": "constant",
}


def kernels() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "odd 5x5": torch.rand(5, 5, generator=generator, dtype=torch.float64),
        "even 4x6": torch.rand(4, 6, generator=generator, dtype=torch.float64),
        "larger than the image 15x13": torch.rand(15, 13, generator=generator, dtype=torch.float64),
        "symmetric disk": disk_kernel(2.0, torch.float64),
    }


def paths(boundary: str, psf: torch.Tensor) -> list[str]:
    methods = ["direct", "fft", "opencv"]
    if boundary == "symmetric" and blur_module.is_centro_symmetric(psf):
        methods.append("dct")
    return methods


CASES = [
    (boundary, name, method, size)
    for boundary, (name, psf), size in itertools.product(BOUNDARIES, kernels().items(), SIZES)
    for method in paths(boundary, psf)
]


def random_images(size, seed, batch=2, channels=3):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, *size, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize(("boundary", "kernel", "method", "size"), CASES)
def test_adjoint_is_exact(boundary, kernel, method, size):
    """``<A x, y> == <x, Aᵀ y>`` to 1e-10 in float64, every boundary x path x size."""
    op = BlurOperator(kernels()[kernel][None, None], boundary, method)
    x, y = random_images(size, 1), random_images(size, 2)
    left = (op.forward(x) * y).sum()
    right = (x * op.adjoint(y)).sum()
    assert abs(float(left - right)) <= 1e-10 * max(1.0, abs(float(left)))


@pytest.mark.parametrize(("boundary", "kernel", "method", "size"), CASES)
def test_paths_agree_and_adjoint_is_the_gradient(boundary, kernel, method, size):
    """Every path equals the direct one; ``Aᵀ y`` equals autograd's vector-Jacobian product."""
    psf = kernels()[kernel][None, None]
    x, y = random_images(size, 3), random_images(size, 4)
    reference = BlurOperator(psf, boundary, "direct")
    op = BlurOperator(psf, boundary, method)
    torch.testing.assert_close(op.forward(x), reference.forward(x), rtol=0, atol=1e-12)
    leaf = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad((reference.forward(leaf) * y).sum(), leaf)
    torch.testing.assert_close(op.adjoint(y), gradient, rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("size", SIZES)
def test_forward_equals_scipy_convolve(boundary, size):
    """An independent reference: ``scipy.ndimage.convolve`` with the matching mode."""
    psf = kernels()["odd 5x5"]
    x = random_images(size, 5, batch=1, channels=1)
    ours = BlurOperator(psf[None, None], boundary).forward(x)[0, 0].numpy()
    theirs = ndi.convolve(x[0, 0].numpy(), psf.numpy(), mode=SCIPY_MODES[boundary])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_extension_adjoint(boundary):
    x = random_images((5, 7), 6)
    z = random_images((5 + 9 + 12, 7 + 3 + 20), 7)  # margins wider than the image
    widths = (9, 12, 3, 20)
    left = (extend(x, *widths, boundary) * z).sum()
    right = (x * extend_adjoint(z, *widths, boundary)).sum()
    assert abs(float(left - right)) <= 1e-10 * abs(float(left))


def test_dct_needs_the_symmetric_boundary_and_a_symmetric_kernel():
    psf = gaussian_kernel(1.0, dtype=torch.float64)[None, None]
    BlurOperator(psf, "symmetric", "dct")
    with pytest.raises(ValueError, match="symmetric"):
        BlurOperator(psf, "reflect-101", "dct")
    with pytest.raises(ValueError, match="symmetric"):
        BlurOperator(kernels()["odd 5x5"][None, None], "symmetric", "dct")


def test_one_threshold_decides_direct_or_fft(monkeypatch):
    x = random_images((16, 16), 8)
    small = BlurOperator(torch.ones(1, 1, 3, 3, dtype=torch.float64) / 9, "zeros")
    assert small.path(x) in ("direct", "opencv")
    monkeypatch.setattr(blur_module, "DIRECT_MAX_TAPS", 8)
    assert small.path(x) == "fft"


def test_reflect_is_another_name_of_reflect_101():
    assert boundary_name("reflect") == "reflect-101"
    with pytest.raises(ValueError, match="symmetric"):
        boundary_name("mirror")


def test_forward_has_finite_float64_gradients():
    psf = kernels()["even 4x6"][None, None]
    for boundary in BOUNDARIES:
        op = BlurOperator(psf, boundary, "direct")
        x = random_images((6, 5), 9, batch=1, channels=1).requires_grad_(True)
        assert torch.autograd.gradcheck(op.forward, (x,))
