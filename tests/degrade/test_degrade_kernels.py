import numpy as np
import pytest
import torch

from defocus.degrade import (
    box_kernel,
    disk_kernel,
    gaussian_kernel,
    load_psf,
    parse_psf,
    ring_kernel,
)
from defocus.errors import DefocusError
from defocus.io import write_image


def supersampled_disk(radius: float, half: int, samples: int = 48) -> np.ndarray:
    """Fraction of each pixel inside the circle, by counting a samples x samples grid."""
    offsets = (np.arange(samples) + 0.5) / samples - 0.5
    centres = np.arange(-half, half + 1)
    coords = (centres[:, None] + offsets[None, :]).ravel()
    inside = (coords[:, None] ** 2 + coords[None, :] ** 2) <= radius**2
    n = 2 * half + 1
    frac = inside.reshape(n, samples, n, samples).mean(axis=(1, 3))
    return frac / frac.sum()


@pytest.mark.parametrize("radius", [0.7, 1.0, 1.5, 2.0, 2.3, 3.0, 4.5, 6.0])
def test_disk_matches_supersampled_reference(radius):
    k = disk_kernel(radius).numpy()
    half = k.shape[0] // 2
    ref = supersampled_disk(radius, half)
    assert k.shape == ref.shape
    assert np.abs(k - ref).max() < 3e-3
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    # nothing of the circle lies outside the kernel's support
    assert supersampled_disk(radius, half + 1)[[0, -1], :].sum() == 0


def test_disk_exact_area_of_large_radius():
    # Before normalisation the taps sum to the circle's area: check through the
    # ratio of an interior tap (fully inside, area 1) to the total.
    r = 5.0
    k = disk_kernel(r).numpy()
    assert k[5, 5] * np.pi * r**2 == pytest.approx(1.0, rel=1e-12)


def test_kernels_are_symmetric_odd_and_normalised():
    for k in (disk_kernel(2.6), ring_kernel(3.2), gaussian_kernel(1.3), box_kernel(5)):
        assert k.shape[0] % 2 == 1 and k.shape[0] == k.shape[1]
        assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
        assert torch.allclose(k, k.flip(0)) and torch.allclose(k, k.T)
        assert k.dtype == torch.float64
    assert disk_kernel(2, dtype=torch.float32).dtype == torch.float32


def test_gaussian_size_and_values():
    k = gaussian_kernel(1.5)
    assert k.shape == (11, 11)
    t = np.arange(-5, 6)
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(k.numpy(), g / g.sum(), atol=1e-15)


def test_ring_profile_from_spec():
    r = 8.0
    k = ring_kernel(r).numpy()
    c = k.shape[0] // 2
    # a pixel well inside the inner disk vs one fully in the rim
    inner, rim = k[c, c], k[c, c + 7]
    assert rim / inner == pytest.approx(4.0, rel=1e-9)
    assert k[c, c + 5] == pytest.approx(inner, rel=1e-9)


def test_zero_radius_is_identity_and_bad_values_raise():
    assert disk_kernel(0).tolist() == [[1.0]]
    assert gaussian_kernel(0).tolist() == [[1.0]]
    with pytest.raises(ValueError):
        disk_kernel(-1)
    with pytest.raises(ValueError):
        box_kernel(0)


def test_parse_psf_specs(tmp_path):
    assert torch.equal(parse_psf("disk:3"), disk_kernel(3))
    assert torch.equal(parse_psf("gaussian:1.5"), gaussian_kernel(1.5))
    assert torch.equal(parse_psf("ring:4"), ring_kernel(4))
    assert torch.equal(parse_psf("box:5"), box_kernel(5))
    for bad in ("disk:abc", "box:2.5", "blob:3", "disk:-1"):
        with pytest.raises(DefocusError):
            parse_psf(bad)


def test_load_psf_npy_and_image(tmp_path):
    arr = np.zeros((5, 3))
    arr[1, 2] = 2.0
    arr[3, 0] = 6.0
    np.save(tmp_path / "k.npy", arr)
    k = load_psf(tmp_path / "k.npy")
    np.testing.assert_allclose(k.numpy(), arr / 8.0)
    assert torch.equal(parse_psf(str(tmp_path / "k.npy")), k)

    img = np.zeros((1, 4, 4))
    img[0, 1, 1] = 1.0
    img[0, 2, 3] = 0.2
    write_image(tmp_path / "k.png", img, bit_depth=16)
    k = load_psf(tmp_path / "k.png")
    assert float(k.sum()) == pytest.approx(1.0)
    assert float(k[1, 1] / k[2, 3]) == pytest.approx(5.0, rel=1e-3)


def test_load_psf_errors(tmp_path):
    with pytest.raises(DefocusError, match="no such PSF file"):
        load_psf(tmp_path / "missing.npy")
    np.save(tmp_path / "neg.npy", np.array([[1.0, -1.0]]))
    with pytest.raises(DefocusError, match="negative"):
        load_psf(tmp_path / "neg.npy")
    np.save(tmp_path / "zero.npy", np.zeros((3, 3)))
    with pytest.raises(DefocusError, match="sums to zero"):
        load_psf(tmp_path / "zero.npy")
    np.save(tmp_path / "cube.npy", np.ones((2, 3, 3)))
    with pytest.raises(DefocusError, match="2-D"):
        load_psf(tmp_path / "cube.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DefocusError, match=r"junk\.npy"):
        load_psf(tmp_path / "junk.npy")
