"""Outputs are always readable and carry only metadata that is true of them."""

import cv2
import numpy as np
import pytest
from PIL import Image

from defocus.cli.main import main

# A stand-in ICC profile header: only the colour-space field (bytes 16..20) matters here.
CMYK_PROFILE = bytes(16) + b"CMYK" + b"Lab " + bytes(104)


def cmyk_tiff(path, compression=None):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 28, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, mode="CMYK")
    image.save(path, compression=compression, icc_profile=CMYK_PROFILE, dpi=(300, 300))
    return path


@pytest.mark.parametrize("compression", [None, "tiff_lzw"])
@pytest.mark.parametrize(
    "command",
    [
        ["deblur", "--psf", "disk:1"],
        ["deblur", "--psf", "disk:1", "--method", "richardson-lucy", "--iterations", "2"],
        ["degrade", "--psf", "disk:1"],
    ],
    ids=["wiener", "rl", "degrade"],
)
def test_cmyk_tiff_gives_a_readable_rgb_tiff_without_the_cmyk_profile(
    tmp_path, command, compression
):
    source = cmyk_tiff(tmp_path / "in.tif", compression)
    out = tmp_path / ("o.tif" if command[0] == "deblur" else "o")
    assert main([command[0], str(source), "-o", str(out), *command[1:]]) == 0
    result = out if command[0] == "deblur" else out / "in.tif"
    with Image.open(result) as image:
        image.load()
        assert image.mode == "RGB" and image.size == (28, 20)
        assert "icc_profile" not in image.info
        assert image.tag_v2.get(262) == 2  # PhotometricInterpretation: RGB
    decoded = cv2.imread(str(result), cv2.IMREAD_UNCHANGED)
    assert decoded is not None and decoded.shape == (20, 28, 3)


def test_descriptive_tiff_tags_survive(tmp_path):
    source = tmp_path / "in.tif"
    image = Image.fromarray(np.full((16, 16, 3), 120, np.uint8))
    exif = image.getexif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x0131] = "some software"  # Software
    image.save(source, exif=exif)
    assert main(["degrade", str(source), "-o", str(tmp_path / "o"), "--psf", "disk:1"]) == 0
    with Image.open(tmp_path / "o" / "in.tif") as out:
        tags = out.getexif()
        assert tags.get(0x010F) == "Camera maker" and tags.get(0x0131) == "some software"
        assert tags.get(256) == 16 and tags.get(277) == 3
