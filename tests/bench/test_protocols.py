from pathlib import Path

import pytest
import torch

from defocus.bench.protocols import NOISE_SIGMA, load_cases
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
