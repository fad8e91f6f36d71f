"""``defocus blurmap``: three files per photo, readable, of the photo's size."""

import numpy as np
import torch
from PIL import Image

from defocus.cli.main import main
from defocus.degrade import blur, disk_kernel
from defocus.io import write_image


def test_writes_radius_probability_and_preview(tmp_path):
    sharp = (np.indices((64, 80)).sum(0) // 8 % 2).astype(np.float32)  # checkerboard
    image = torch.from_numpy(sharp)[None, None].repeat(1, 3, 1, 1)
    image[..., :, 40:] = blur(image, disk_kernel(5.0))[..., :, 40:]  # right half defocused
    write_image(tmp_path / "photo.png", image[0])
    assert main(["blurmap", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out")]) == 0
    radius = np.asarray(Image.open(tmp_path / "out" / "photo.blur.tif"))
    defocus = np.asarray(Image.open(tmp_path / "out" / "photo.defocus.png"))
    preview = Image.open(tmp_path / "out" / "photo.preview.png")
    assert radius.shape == defocus.shape == (64, 80) and radius.dtype == np.float32
    assert defocus.dtype == np.uint8 and preview.size[0] > 80
    assert radius[:, 60:].mean() > radius[:, :20].mean() + 1  # blurrier on the right
    assert defocus[:, 60:].mean() > defocus[:, :20].mean()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "photo.blur.tif",
        "photo.defocus.png",
        "photo.preview.png",
    ]
