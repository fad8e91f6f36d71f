"""Grid-warping sharpening: the displacement function, edge sharpening, no new values."""

import math

import pytest
import torch

from defocus.assets import sample_image_path
from defocus.classical import create_method
from defocus.classical.gwis import GWIS, displacement, displacement_field, gwis, warp
from defocus.color import to_luma
from defocus.degrade import blur, disk_kernel, gaussian_kernel
from defocus.degrade.lens import effective_radius
from defocus.io import read_image
from defocus.metrics import psnr


def step_edge(sigma: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    sharp = torch.zeros(1, 1, 48, 48, dtype=torch.float64)
    sharp[..., 24:] = 1
    return sharp, blur(sharp, gaussian_kernel(sigma), "replicate")


def rise_width(row: torch.Tensor) -> int:
    """Pixels between the 10 % and 90 % crossings of a rising profile."""
    return int((row > 0.9).nonzero()[0]) - int((row > 0.1).nonzero()[0])


def test_displacement_is_continuous_and_keeps_order():
    t = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    sigma = torch.tensor(2.0, dtype=torch.float64)
    d = displacement(t, sigma)
    assert float((d[1:] - d[:-1]).abs().max()) < 0.01  # continuous
    assert bool(((t + d)[1:] >= (t + d)[:-1] - 1e-12).all())  # monotone warp
    assert bool((d[t.abs() > 3] == 0).all())
    assert float(displacement(torch.tensor(1.0), torch.tensor(2.0))) == -1.0


def test_blurred_edge_becomes_sharper_without_new_values():
    _, blurry = step_edge()
    out = gwis(blurry, 2.0)
    assert rise_width(out[0, 0, 10]) < rise_width(blurry[0, 0, 10])
    assert float(out.min()) >= float(blurry.min()) - 1e-12  # a warp: no ringing
    assert float(out.max()) <= float(blurry.max()) + 1e-12


def test_flat_images_and_zero_fields_are_unchanged():
    flat = torch.full((1, 3, 20, 24), 0.3, dtype=torch.float64)
    torch.testing.assert_close(gwis(flat, 2.0), flat)
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(warp(x, torch.zeros(1, 2, 16, 16, dtype=torch.float64)), x)


def test_sharpening_a_defocused_photo_raises_psnr_most_near_the_true_level():
    sharp = to_luma(read_image(sample_image_path()).pixels[None]).double()
    blurry = blur(sharp, gaussian_kernel(1.5))
    gains = {s: float(psnr(gwis(blurry, s), sharp) - psnr(blurry, sharp)) for s in (0.5, 1.5, 4.0)}
    assert gains[1.5] > 0.3 and gains[1.5] > gains[0.5] and gains[1.5] > gains[4.0]


def test_registered_method_takes_sigma_from_the_psf_and_module_matches():
    _, blurry = step_edge(1.5)
    method = create_method("gwis")
    from defocus.classical.methods import GWIS_PER_PSF_RADIUS

    level = GWIS_PER_PSF_RADIUS * effective_radius(disk_kernel(3.0))
    torch.testing.assert_close(method(blurry, "disk:3"), gwis(blurry, level))
    torch.testing.assert_close(GWIS(1.5)(blurry), gwis(blurry, 1.5))
    given = create_method("gwis", sigma=2.0)(blurry, "disk:9")
    torch.testing.assert_close(given, gwis(blurry, 2.0))


def test_per_pixel_sigma_and_gradients():
    _, blurry = step_edge()
    field = displacement_field(blurry, torch.full_like(blurry, 2.0))
    assert field.shape == (1, 2, 48, 48) and field[:, 1].abs().max() < 1e-9  # vertical edge
    x = blurry.clone().requires_grad_(True)
    gwis(x, torch.full_like(blurry, 2.0)).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("sigma", [0.0, -1.0, 100.0])
def test_bad_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma"):
        gwis(step_edge()[1], sigma)


def test_blind_gwis_sharpens_where_the_blur_map_says_and_spares_the_rest(dead_leaves):
    from defocus.color import to_luma
    from defocus.degrade.scene import Layer, layered_defocus

    texture = to_luma(dead_leaves(128, 128)).double()
    alpha = torch.zeros_like(texture)
    alpha[..., :, :64] = 1  # left in focus, right blurred (Gaussian σ = 2)
    scene, _ = layered_defocus(
        texture, 4.0, [Layer(texture, alpha, 0.0)], lambda r: gaussian_kernel(r / 2)
    )
    out = create_method("gwis-blind")(scene, None)
    left, right = (slice(8, 56), slice(72, 120))
    change_left = float((out - scene)[..., left].abs().mean())
    assert change_left < float((out - scene)[..., right].abs().mean())
    truth = texture[..., right]
    assert float(psnr(out[..., right], truth)) > float(psnr(scene[..., right], truth))


def test_displacement_field_equals_the_formula_summed_point_by_point():
    """An independent reference: the seed's weighted mean, edge point by edge point."""
    from defocus.edges import edge_points

    torch.manual_seed(3)
    luma = blur(torch.rand(1, 1, 14, 12, dtype=torch.float64), gaussian_kernel(1.0))
    sigma = torch.rand(1, 1, 14, 12, dtype=torch.float64) * 2 + 0.5
    field = displacement_field(luma, sigma, threshold=0.01)
    edges, magnitude, nx, ny = (t[0, 0] for t in edge_points(luma, 0.01))
    points = edges.nonzero().tolist()
    assert len(points) > 5
    for y in range(14):
        for x in range(12):
            num_x = num_y = den = 0.0
            for py, px in points:
                n = (float(nx[py, px]), float(ny[py, px]))
                s = float(sigma[0, 0, py, px])
                along = n[0] * (x - px) + n[1] * (y - py)
                across = (x - px) ** 2 + (y - py) ** 2 - along**2
                if abs(along) > 1.5 * s or across > (3 * s) ** 2:
                    continue
                w = float(magnitude[py, px]) * math.exp(-across / (2 * s * s))
                t, level = (torch.tensor(v, dtype=torch.float64) for v in (along, s))
                d = float(displacement(t, level))
                num_x, num_y, den = num_x + w * d * n[0], num_y + w * d * n[1], den + w
            expected = (num_x / den, num_y / den) if den > 0 else (0.0, 0.0)
            got = (float(field[0, 0, y, x]), float(field[0, 1, y, x]))
            assert got == pytest.approx(expected, abs=1e-10), (y, x)


def test_blind_gwis_takes_any_estimator_and_refuses_unknown_ones():
    from defocus.classical.methods import GWIS_PER_RADIUS
    from defocus.errors import DefocusError

    scene = blur(step_edge()[0], gaussian_kernel(1.5))
    out = create_method("gwis-blind", estimator="gradient-ratio")(scene, None)
    assert out.shape == scene.shape and out.isfinite().all()
    assert GWIS_PER_RADIUS["gwis-cnn"] == 0.5  # its radius is twice its best parameter
    with pytest.raises(DefocusError, match="unknown blur-map estimator 'nope'"):
        create_method("gwis-blind", estimator="nope")


def test_strength_scales_the_displacement_and_zero_leaves_the_image():
    _, blurry = step_edge(2.0)
    none = gwis(blurry, 2.0, strength=torch.zeros_like(blurry))
    torch.testing.assert_close(none, blurry)
    half = gwis(blurry, 2.0, strength=torch.full_like(blurry, 0.5))
    full = gwis(blurry, 2.0)
    row = 24
    assert rise_width(full[0, 0, row]) <= rise_width(half[0, 0, row]) <= rise_width(
        blurry[0, 0, row]
    )
    with pytest.raises(ValueError, match="strength"):
        gwis(blurry, 2.0, strength=torch.full_like(blurry, 2.0))


def test_blind_gwis_leaves_a_sharp_chart_alone(dead_leaves):
    # in focus everywhere: the fade-in keeps GWIS from thinning sharp texture
    sharp = dead_leaves(160, 240, seed=2).double()
    out = create_method("gwis-blind")(sharp, None)
    assert float(((out - sharp).abs() > 1 / 255).double().mean()) < 0.01
