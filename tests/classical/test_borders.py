"""Wrap-around ringing at the borders of a real photo: padded domains versus circular."""

from pathlib import Path

import pytest
import torch

from defocus.classical import richardson_lucy, wiener
from defocus.degrade.blur import blur
from defocus.io import read_image

PHOTO = Path(__file__).parents[1] / "fixtures" / "omega" / "GT.png"  # 128x128 Kodak crop
BAND = 8


def _border_psnr(restored, reference):
    mask = torch.ones_like(reference, dtype=torch.bool)
    mask[..., BAND:-BAND, BAND:-BAND] = False
    mse = (restored.clamp(0, 1) - reference)[mask].square().mean()
    return (10 * torch.log10(1 / mse)).item()


@pytest.fixture(scope="module")
def photo():
    if not PHOTO.exists():
        pytest.skip("fixture photo missing")
    return read_image(PHOTO).pixels[None].double()


@pytest.mark.parametrize(
    ("restore", "gain_db"),
    [
        (lambda y, padding: wiener(y, "disk:3", 1e-3, padding=padding), 3.0),
        (lambda y, padding: richardson_lucy(y, "disk:3", 20, padding=padding), 1.5),
    ],
    ids=["wiener", "richardson-lucy"],
)
def test_padding_removes_border_ringing(photo, restore, gain_db):
    # a real photo is not periodic: blur it with a reflected (non-wrapping) boundary
    y = blur(photo, "disk:3", padding="reflect")
    circular = _border_psnr(restore(y, "circular"), photo)
    for padding in ("reflect", "replicate", "mirror"):
        assert _border_psnr(restore(y, padding), photo) > circular + gain_db, padding
