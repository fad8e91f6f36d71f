"""Spatially varying defocus: occlusion at layer edges, depth ramps, blur maps."""

import pytest
import torch

from defocus.degrade import blur, disk_kernel
from defocus.degrade.scene import Layer, layered_defocus, ramp, ramp_defocus


def noise_image(seed: int, size=(1, 3, 64, 64)) -> torch.Tensor:
    return torch.rand(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_one_layer_is_uniform_blur():
    x = noise_image(0)
    out, radius = layered_defocus(x, 3.0, [], disk_kernel)
    torch.testing.assert_close(out, blur(x, disk_kernel(3.0), "reflect-101"))
    assert bool((radius == 3.0).all())


def test_sharp_foreground_edge_over_blurred_background_does_not_bleed():
    background = torch.ones(1, 3, 64, 64, dtype=torch.float64)  # bright, blurred by r = 6
    foreground = torch.zeros_like(background)  # dark, in focus
    alpha = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    alpha[..., :, :32] = 1
    out, radius = layered_defocus(background, 6.0, [Layer(foreground, alpha, 0.0)], disk_kernel)
    assert bool((out[..., :, :32] == 0).all())  # no background light on the sharp side
    torch.testing.assert_close(out[..., :, 32:], background[..., :, 32:])  # nor dark spill
    assert bool((radius[..., :, :32] == 0).all() and (radius[..., :, 32:] == 6).all())


def test_blurred_foreground_spills_over_a_sharp_background():
    background = torch.ones(1, 1, 64, 64, dtype=torch.float64)
    alpha = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    alpha[..., :, :32] = 1
    out, radius = layered_defocus(
        background, 0.0, [Layer(torch.zeros_like(background), alpha, 4.0)], disk_kernel
    )
    assert 0 < float(out[0, 0, 10, 33]) < 1  # the out-of-focus edge covers part of it
    assert float(radius[0, 0, 10, 30]) == 4 and float(radius[0, 0, 10, 40]) == 0


def test_ramp_is_exact_on_its_levels_and_its_map_is_what_was_asked():
    x = noise_image(1, (1, 1, 48, 40))
    radius = ramp(48, 40, 0.0, 6.0)
    assert radius.shape == (1, 1, 48, 40)
    assert float(radius[0, 0, 0, 0]) == 0 and float(radius[0, 0, -1, 0]) == 6
    constant = torch.full_like(radius, 2.0)
    torch.testing.assert_close(ramp_defocus(x, constant, disk_kernel), blur(x, disk_kernel(2.0)))
    between = ramp_defocus(x, torch.full_like(radius, 2.25), disk_kernel)
    expected = 0.5 * blur(x, disk_kernel(2.0)) + 0.5 * blur(x, disk_kernel(2.5))
    torch.testing.assert_close(between, expected)
    out = ramp_defocus(x, radius, disk_kernel)
    torch.testing.assert_close(out[..., :1, :], x[..., :1, :])  # radius 0 at the top row


def test_bad_radius_maps_are_refused():
    x = noise_image(2, (1, 1, 16, 16))
    with pytest.raises(ValueError, match="does not fit"):
        ramp_defocus(x, torch.zeros(1, 1, 8, 8, dtype=torch.float64), disk_kernel)
    with pytest.raises(ValueError, match=">= 0"):
        ramp_defocus(x, torch.full((1, 1, 16, 16), -1.0, dtype=torch.float64), disk_kernel)
