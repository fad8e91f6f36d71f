"""``defocus blurmap``: three files per photo, readable, of the photo's size."""

import numpy as np
from PIL import Image

from defocus.cli.main import main
from defocus.degrade import blur, disk_kernel
from defocus.io import write_image


def test_writes_radius_probability_and_preview(tmp_path, dead_leaves):
    image = dead_leaves(160, 240)
    image[..., :, 120:] = blur(image, disk_kernel(5.0))[..., :, 120:]  # right half defocused
    write_image(tmp_path / "photo.png", image[0])
    assert main(["blurmap", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out")]) == 0
    radius = np.asarray(Image.open(tmp_path / "out" / "photo.blur.tif"))
    defocus = np.asarray(Image.open(tmp_path / "out" / "photo.defocus.png"))
    preview = Image.open(tmp_path / "out" / "photo.preview.png")
    assert radius.shape == defocus.shape == (160, 240) and radius.dtype == np.float32
    assert defocus.dtype == np.uint8 and preview.size[0] > 240
    assert radius[:, 180:].mean() > radius[:, :60].mean() + 1  # blurrier on the right
    assert defocus[:, 180:].mean() > defocus[:, :60].mean()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "photo.blur.tif",
        "photo.defocus.png",
        "photo.preview.png",
    ]
