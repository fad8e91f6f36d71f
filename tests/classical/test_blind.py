"""Blind disk-blur estimation by GCV: the criterion against an independent reference, and
recovery of known radii on a real photo."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.restoration import wiener as skimage_wiener

from defocus.assets import sample_image_path
from defocus.classical import create_method, wiener
from defocus.classical.blind import (
    DISK_RADII,
    blind_wiener,
    disk_bank,
    edge_taper,
    estimate_disk_blur,
    estimation_crops,
    gcv_scores,
    local_disk_radius,
    local_disk_radius_map,
    symmetric_extension,
    window_interpolation,
)
from defocus.color import to_luma
from defocus.degrade import add_noise, blur, disk_kernel
from defocus.io import read_image


def test_symmetric_extension_is_seamless_and_periodic():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    ext = symmetric_extension(x)
    assert ext.shape == (1, 1, 6, 8)
    torch.testing.assert_close(ext[..., :3, :4], x)
    # half-sample symmetric about the image's edges: no jump at any seam, even periodically
    torch.testing.assert_close(ext, ext.flip(-1))
    torch.testing.assert_close(ext, ext.flip(-2))
    torch.testing.assert_close(ext[..., 3], ext[..., 4])


def reference_log_gcv(y: np.ndarray, psf: np.ndarray, lam: float) -> float:
    """GCV from the spatial residual of scikit-image's Wiener, with a numpy trace.

    ``||y - K x̂||² / N`` (``x̂`` = skimage's circular Wiener, ``K`` = wrap-around
    convolution by scipy) over ``(tr(I - A) / N)²``; the trace from ``numpy.fft`` OTFs.
    """
    ext = symmetric_extension(torch.from_numpy(y)).numpy()
    restored = skimage_wiener(ext, psf, lam, clip=False)
    residual = ext - ndimage.convolve(restored, psf, mode="wrap")
    laplacian = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], float)

    def otf(kernel: np.ndarray) -> np.ndarray:
        padded = np.zeros(ext.shape)
        padded[: kernel.shape[0], : kernel.shape[1]] = kernel
        shift = (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2))
        return np.fft.fft2(np.roll(padded, shift, axis=(0, 1)))

    k2, d2 = np.abs(otf(psf)) ** 2, np.abs(otf(laplacian)) ** 2
    trace = np.mean(lam * d2 / (k2 + lam * d2))
    return float(np.log(np.mean(residual**2)) - 2 * np.log(trace))


def test_gcv_scores_match_a_spatial_reference_up_to_a_constant():
    rng = np.random.default_rng(1)
    sharp = ndimage.gaussian_filter(rng.random((20, 24)), 1.0)
    y = ndimage.convolve(sharp, disk_kernel(2.0).numpy(), mode="mirror")
    y += 0.01 * rng.standard_normal(y.shape)
    radii, lams = (1.0, 2.0, 3.0), (1e-4, 1e-2)
    scores = gcv_scores(torch.from_numpy(y)[None, None], disk_bank(radii, torch.float64), lams)
    expected = np.array(
        [[reference_log_gcv(y, disk_kernel(r).numpy(), lam) for lam in lams] for r in radii]
    )
    # the spectral mean and the spatial mean differ by the constant factor N (Parseval)
    np.testing.assert_allclose(
        scores[0].numpy() - scores[0, 0, 0].item(), expected - expected[0, 0], atol=1e-9
    )


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return to_luma(read_image(sample_image_path()).pixels[None]).double()


@pytest.mark.parametrize("radius", [1.0, 2.5, 4.0, 6.0])
def test_finds_the_radius_of_a_blurred_photo(photo: torch.Tensor, radius: float):
    generator = torch.Generator().manual_seed(int(radius * 4))
    y = add_noise(blur(photo, disk_kernel(radius)), 0.01, generator=generator)
    estimate = estimate_disk_blur(y)
    assert abs(float(estimate.radius) - radius) <= 0.25
    assert DISK_RADII[int(estimate.index)] == float(estimate.radius)
    assert 1e-4 <= float(estimate.balance) <= 1e-1  # noise σ = 0.01: a moderate balance


def test_sharp_photo_is_estimated_as_unblurred(photo: torch.Tensor):
    assert float(estimate_disk_blur(photo).radius) <= 0.75


def test_large_images_are_estimated_on_crops(photo: torch.Tensor):
    big = photo.repeat(1, 1, 4, 5)  # 1024 x 1280: over 1.5 crops' worth of pixels
    crops = estimation_crops(big, 512, 3)
    assert crops.shape == (2 * 3, 1, 512, 512)
    torch.testing.assert_close(crops[0], big[0, :, :512, :512])
    torch.testing.assert_close(crops[-1], big[0, :, -512:, -512:])
    y = add_noise(blur(big, disk_kernel(3.0)), 0.01, generator=torch.Generator().manual_seed(0))
    assert abs(float(estimate_disk_blur(y).radius) - 3.0) <= 0.25


def test_batch_estimates_each_image_alone(photo: torch.Tensor):
    pair = torch.cat([blur(photo, disk_kernel(1.5)), blur(photo, disk_kernel(4.0))])
    together = estimate_disk_blur(pair)
    for k in range(2):
        alone = estimate_disk_blur(pair[k : k + 1])
        assert together.index[k] == alone.index[0]
        assert together.balance[k] == alone.balance[0]


def test_blind_wiener_equals_wiener_with_the_estimated_disk(photo: torch.Tensor):
    """On the domain the estimate was made on (the half-sample symmetric boundary)."""
    y = add_noise(blur(photo, disk_kernel(3.0)), 0.01, generator=torch.Generator().manual_seed(3))
    estimate = estimate_disk_blur(y)
    psf = disk_kernel(float(estimate.radius))
    expected = wiener(y, psf, float(estimate.balance), padding="symmetric")
    torch.testing.assert_close(blind_wiener(y), expected)
    torch.testing.assert_close(create_method("wiener-blind")(y, "disk:9"), expected)


def test_edge_taper_fades_each_crop_to_its_mean_and_keeps_its_middle():
    crops = torch.rand(3, 1, 40, 36, dtype=torch.float64)
    tapered = edge_taper(crops, 8)
    mean = crops.mean(dim=(-2, -1), keepdim=True)
    torch.testing.assert_close(tapered[..., 8:-8, 8:-8], crops[..., 8:-8, 8:-8])
    corner = (tapered[..., 0, 0] - mean[..., 0, 0]).abs()
    assert float(corner.max()) < 0.01 * float((crops[..., 0, 0] - mean[..., 0, 0]).abs().max())
    window = (tapered - mean) / (crops - mean)  # the same raised cosine in every crop
    torch.testing.assert_close(window[0], window[2])


def test_local_radius_reads_each_side_of_a_half_blurred_photo(photo: torch.Tensor):
    wide = photo.repeat(1, 1, 1, 2)  # 256 x 512: sharp left half, disk r = 4 right half
    blurred = blur(wide, disk_kernel(4.0), "reflect-101")
    y = torch.cat([wide[..., :256], blurred[..., 256:]], dim=-1)
    y = add_noise(y, 0.01, generator=torch.Generator().manual_seed(0))
    radius = local_disk_radius(y, crop=128)
    assert radius.shape == (1, 1, 3, 7)  # windows half a window apart
    assert float(radius[..., :3].max()) <= 1.0
    assert abs(float(radius[..., 4:].median()) - 4.0) <= 0.5
    # the global estimate reads one number for both
    assert float(estimate_disk_blur(y).radius) < 3.5


def test_local_radius_is_the_same_estimated_in_chunks(photo: torch.Tensor, monkeypatch):
    from defocus.classical import blind

    y = add_noise(blur(photo, disk_kernel(3.0)), 0.01, generator=torch.Generator().manual_seed(2))
    y = torch.cat([y, y.flip(-1)])  # two images: chunks span the batch
    whole = local_disk_radius(y, crop=64)
    monkeypatch.setattr(blind, "LOCAL_CHUNK", 5)  # bands of one window row
    torch.testing.assert_close(local_disk_radius(y, crop=64), whole, rtol=0, atol=0)
    assert whole.shape == (2, 1, 7, 7)


@pytest.mark.parametrize(("length", "side", "count"), [(256, 128, 3), (300, 64, 8), (40, 40, 1)])
def test_window_interpolation_is_linear_between_window_centres(length, side, count):
    weights = window_interpolation(length, side, count)
    values = torch.randn(count, dtype=torch.float64)
    centres = np.arange(count) * max(1, side // 2) + side / 2 - 0.5  # pixel coordinates
    expected = np.interp(np.arange(length), centres, values.numpy())  # clamped beyond the ends
    np.testing.assert_allclose((weights.double() @ values).numpy(), expected, atol=1e-6)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(length))


def test_local_radius_map_interpolates_the_window_grid(photo: torch.Tensor):
    wide = photo.repeat(1, 1, 1, 2)  # sharp left half, disk r = 4 right half
    blurred = blur(wide, disk_kernel(4.0), "reflect-101")
    y = torch.cat([wide[..., :256], blurred[..., 256:]], dim=-1)
    y = add_noise(y, 0.01, generator=torch.Generator().manual_seed(0))
    grid = local_disk_radius(y, crop=128)[0, 0].double().numpy()
    radius = local_disk_radius_map(y, crop=128)
    assert radius.shape == (1, 1, 256, 512) and radius.dtype == torch.float32
    rows = np.arange(grid.shape[0]) * 64 + 63.5
    cols = np.arange(grid.shape[1]) * 64 + 63.5
    across = np.stack([np.interp(np.arange(512), cols, line) for line in grid])
    expected = np.stack([np.interp(np.arange(256), rows, column) for column in across.T], axis=1)
    np.testing.assert_allclose(radius[0, 0].numpy(), expected, atol=1e-5)
    assert float(radius[..., :64].max()) <= 1.0 and float(radius[..., -64:].median()) >= 3.5


def test_taper_helps_gcv_on_crops_of_large_blur(photo: torch.Tensor):
    y = add_noise(blur(photo, disk_kernel(6.0)), 0.01, generator=torch.Generator().manual_seed(1))
    quarters = [
        y[0, :, rows, cols]
        for rows in (slice(0, 128), slice(128, None))
        for cols in (slice(0, 128), slice(128, None))
    ]
    crops = torch.stack(quarters)
    plain = (estimate_disk_blur(crops).radius - 6.0).abs()
    tapered = (estimate_disk_blur(edge_taper(crops)).radius - 6.0).abs()
    assert float(tapered.max()) <= 1.0
    assert float(tapered.sum()) < float(plain.sum())  # the borders pulled it down
