from pathlib import Path

import pytest
import torch

from defocus.bench.protocols import BAND_RADII, LENS_RADII, NOISE_SIGMA, load_cases
from defocus.degrade import blur, parse_psf
from defocus.errors import DefocusError


def test_mmsp_cases_are_box_blurred_luma_without_noise(test_root: Path) -> None:
    cases = load_cases("mmsp", test_root)
    assert [c.name for c in cases] == [
        "Kodak24/img0",
        "Kodak24/img1",
        "Kodak24/img2",
        "CBSD68/img0",
        "CBSD68/img1",
    ]
    case = cases[0]
    assert case.blurry.shape == case.sharp.shape == (1, 1, 32, 40)
    assert case.group == "Kodak24" and case.radius is None
    torch.testing.assert_close(case.psf, parse_psf("box:5"))
    # reflect-101 box blur of the sharp image, no noise
    expected = blur(case.sharp.double(), "box:5", "reflect").float()
    torch.testing.assert_close(case.blurry, expected, atol=1e-5, rtol=0)
    name, blurry, sharp, psf = case
    assert (name, blurry, sharp, psf) == (case.name, case.blurry, case.sharp, case.psf)


def test_defocus_cases_have_radius_groups_and_the_stated_noise(test_root: Path) -> None:
    cases = load_cases("defocus", test_root, limit=1)
    assert [c.radius for c in cases] == [1.0, 2.0, 3.0, 4.0, 5.0] * 2
    assert cases[2].group == "Kodak24/disk:3" and cases[2].name == "Kodak24/img0@disk:3"
    for case in cases:
        clean = blur(case.sharp.double(), case.psf, "reflect").float()
        residual = (case.blurry - clean).flatten()
        inside = residual[(clean.flatten() > 0.05) & (clean.flatten() < 0.95)]  # no clipping
        assert 0.006 < float(inside.std()) < 0.014, NOISE_SIGMA


def test_cases_are_identical_on_every_call_and_noise_differs_per_radius(test_root: Path) -> None:
    first = load_cases("defocus", test_root, limit=2)
    second = load_cases("defocus", test_root, limit=2)
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert torch.equal(a.blurry, b.blurry)
    noise = [c.blurry - blur(c.sharp, c.psf, "reflect") for c in first[:2]]
    assert not torch.allclose(noise[0], noise[1])


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DefocusError, match="test data folder not found"):
        load_cases("mmsp", tmp_path / "nowhere")
    (tmp_path / "Kodak24").mkdir()
    with pytest.raises(DefocusError, match="CBSD68"):
        load_cases("mmsp", tmp_path)


def test_unknown_protocol(test_root: Path) -> None:
    with pytest.raises(DefocusError):
        load_cases("nope", test_root)


def test_depth_cases_are_bands_of_rising_blur_and_a_layered_scene(test_root: Path) -> None:
    cases = load_cases("depth", test_root, limit=2)
    per_image = len(BAND_RADII) + 1
    assert len(cases) == 2 * 2 * per_image
    bands = cases[: len(BAND_RADII)]
    assert all(case.blurry is bands[0].blurry for case in bands)  # one scene, six windows
    tops = [case.window[0] for case in bands]
    assert tops == sorted(tops) and tops[0] == 0
    assert sum(case.window[2] for case in bands) == bands[0].sharp.shape[-2]
    assert [case.group for case in bands] == [f"Kodak24/band:r{r}" for r in BAND_RADII]
    # the sharp band is the reference plus noise only
    top, _, height, _ = bands[0].window
    noise = (bands[0].blurry - bands[0].sharp)[..., top : top + height, :]
    assert abs(float(noise.std()) - NOISE_SIGMA) < 0.003
    layered = cases[len(BAND_RADII)]
    assert layered.group == "Kodak24/layered" and layered.window is None
    # the in-focus foreground in the middle is sharp: only noise there
    middle = (layered.blurry - layered.sharp)[..., 14:18, 18:22]
    assert float(middle.abs().max()) < 5 * NOISE_SIGMA


def test_lens_cases_use_the_measured_psfs_at_each_radius(test_root: Path) -> None:
    cases = load_cases("lens", test_root, limit=1)
    assert [case.group for case in cases[: len(LENS_RADII)]] == [
        f"Kodak24/lens:{r}" for r in LENS_RADII
    ]
    sizes = [case.psf.shape[-1] for case in cases[: len(LENS_RADII)]]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    torch.testing.assert_close(cases[0].psf.sum(), torch.tensor(1.0, dtype=torch.float64))
    again = load_cases("lens", test_root, limit=1)
    assert all(torch.equal(a.blurry, b.blurry) for a, b in zip(cases, again, strict=True))
