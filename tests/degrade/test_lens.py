"""Measured lens PSFs at any radius, and elliptical warping of any PSF."""

import math

import pytest
import torch

from defocus.degrade import disk_kernel
from defocus.degrade.lens import LENS_SHAPES, effective_radius, lens_psf, warp_psf


def centroid_offset(psf: torch.Tensor) -> float:
    rows = torch.arange(psf.shape[0], dtype=torch.float64)[:, None] - psf.shape[0] // 2
    cols = torch.arange(psf.shape[1], dtype=torch.float64)[None, :] - psf.shape[1] // 2
    return math.hypot(float((psf * rows).sum()), float((psf * cols).sum()))


@pytest.mark.parametrize("shape", range(LENS_SHAPES))
@pytest.mark.parametrize("radius", [2.0, 6.0, 24.0])
def test_lens_psf_has_the_asked_radius_and_is_centred(shape, radius):
    psf = lens_psf(radius, shape)
    assert psf.shape[0] % 2 == 1 and psf.shape[0] == psf.shape[1]
    assert abs(float(psf.sum()) - 1) < 1e-12 and float(psf.min()) >= 0
    # the effective radius of the rescaled shape (pixel sampling adds ~1/3 px² variance)
    assert abs(effective_radius(psf) - radius) <= 0.1 * radius + 0.25
    assert centroid_offset(psf) < 0.1


def test_effective_radius_of_a_disk_is_its_radius():
    for radius in (4.0, 10.0, 20.0):
        assert abs(effective_radius(disk_kernel(radius)) - radius) < 0.1  # + pixel sampling


def test_shrinking_does_not_alias():
    """A large shape shrunk 50x blurs a point like the disk of the same radius does."""
    small = lens_psf(2.0, 11)
    disk = disk_kernel(2.0)
    assert abs(effective_radius(small) - effective_radius(disk)) < 0.3


def test_warp_keeps_area_and_stretches_along_the_angle():
    disk = disk_kernel(8.0)
    stretched = warp_psf(disk, 1.0, ratio=2.0, angle=0.0)
    rows = torch.arange(stretched.shape[0], dtype=torch.float64) - stretched.shape[0] // 2
    spread_x = float((stretched.sum(0) * rows**2).sum())
    spread_y = float((stretched.sum(1) * rows**2).sum())
    assert spread_x / spread_y == pytest.approx(2.0**2, rel=0.1)  # sqrt(2) each way
    same = warp_psf(disk, 1.0)  # resampled once: a little softer, same size and place
    assert abs(effective_radius(same) - effective_radius(disk)) < 0.1
    assert centroid_offset(same) < 1e-9


def test_zero_radius_is_the_identity_and_bad_values_are_refused():
    torch.testing.assert_close(lens_psf(0.0), torch.ones(1, 1, dtype=torch.float64))
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            lens_psf(bad)
    with pytest.raises(ValueError, match="shape"):
        lens_psf(2.0, LENS_SHAPES)
    with pytest.raises(ValueError):
        warp_psf(disk_kernel(2.0), scale=0.0)


@pytest.mark.parametrize("radius", [1e-9, 1e-4, 0.05])
def test_tiny_radii_give_a_point_without_huge_temporaries(radius):
    # a radius drawn as 24 * u**2 can be arbitrarily small; the box-filter factor of
    # the shrink once grew as 1 / radius and asked for terabytes
    kernel = lens_psf(radius, shape=7)
    assert kernel.shape[0] <= 3 and kernel.sum().item() == pytest.approx(1.0)
    assert kernel[kernel.shape[0] // 2, kernel.shape[1] // 2] > 0.9
