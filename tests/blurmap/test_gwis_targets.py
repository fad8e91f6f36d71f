"""Targets of the seed's CNN: per-pixel best GWIS parameter by 11x11 SSIM, top 1 %."""

import torch

from defocus.blurmap.gwis_targets import GWIS_PARAMETERS, PATCH, gwis_parameter_targets
from defocus.degrade import blur, gaussian_kernel


def edges(size: int = 64) -> torch.Tensor:
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    x[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0.8
    return x + 0.1


def test_best_parameter_at_edges_follows_the_blur() -> None:
    sharp = edges()
    found = []
    for sigma in (1.0, 2.5):
        blurry = blur(sharp, gaussian_kernel(sigma), "reflect-101")
        best, kept = gwis_parameter_targets(blurry, sharp, fraction=0.05)
        assert kept.any()
        found.append(float(best[kept].median()))
    # stronger blur, larger parameter; on a noise-free step, GWIS with a parameter
    # above the blur still lands every pixel on the edge, so the best one is not below
    assert found[0] <= found[1] and found[0] >= 1.0 and found[1] >= 2.5


def test_kept_pixels_are_the_fraction_asked_and_avoid_borders_and_flat_areas() -> None:
    sharp = edges()
    blurry = blur(sharp, gaussian_kernel(1.5), "reflect-101")
    best, kept = gwis_parameter_targets(blurry, sharp, fraction=0.02)
    assert best.shape == kept.shape == (1, 1, 64, 64)
    assert set(best.unique().tolist()) <= set(GWIS_PARAMETERS)
    count = int(kept.sum())
    assert 0.02 * 64 * 64 * 0.5 <= count <= 0.02 * 64 * 64 * 3  # ties may add a few
    border = PATCH // 2
    assert not kept[..., :border, :].any() and not kept[..., :, -border:].any()
    assert not kept[..., 30:34, 30:34].any()  # the flat middle of the square
