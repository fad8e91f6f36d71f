"""Masked real photos (the CUHK layout): pairing, errors, crops aligned with masks."""

import numpy as np
import pytest
import torch
from PIL import Image

from defocus.data.masks import UNKNOWN, DefocusMaskDataset, defocus_mask_pairs, read_defocus_mask
from defocus.errors import DefocusError


def make_folder(root, sizes=((30, 50), (50, 30))):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for index, (h, w) in enumerate(sizes):
        photo = np.zeros((h, w, 3), np.uint8)
        photo[:, : w // 3] = 255  # bright where the mask is white
        mask = np.zeros((h, w), np.uint8)
        mask[:, : w // 3] = 255
        Image.fromarray(photo).save(root / "images" / f"p{index}.jpg", quality=100)
        Image.fromarray(mask).save(root / "masks" / f"p{index}.png")
    return root


def test_pairs_are_sorted_and_checked(tmp_path) -> None:
    root = make_folder(tmp_path / "set")
    pairs = defocus_mask_pairs(root)
    assert [p[0].stem for p in pairs] == ["p0", "p1"]
    (root / "masks" / "p1.png").unlink()
    with pytest.raises(DefocusError, match=r"p1\.png: missing"):
        defocus_mask_pairs(root)
    with pytest.raises(DefocusError, match="no images/ folder"):
        defocus_mask_pairs(tmp_path)


def test_unreadable_mask_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DefocusError, match=r"bad\.png: not a readable mask"):
        read_defocus_mask(bad)


@pytest.mark.parametrize("index", range(6))
def test_crops_keep_photo_and_mask_aligned(tmp_path, index) -> None:
    dataset = DefocusMaskDataset(defocus_mask_pairs(make_folder(tmp_path / "s")), crop=40)
    image, same, radius, mask = dataset[(index, index % 2)]
    assert image.shape == (3, 40, 40) and mask.shape == (1, 40, 40)
    assert image.data_ptr() == same.data_ptr() and (radius == UNKNOWN).all()
    bright = image.mean(0, keepdim=True) > 0.5
    assert torch.equal(bright, mask > 0.5)


def test_whole_photos_and_size_mismatch(tmp_path) -> None:
    root = make_folder(tmp_path / "s")
    image, _, _, mask = DefocusMaskDataset(defocus_mask_pairs(root), crop=None, augment=False)[
        (0, 1)
    ]
    assert image.shape == (3, 50, 30) and mask.shape == (1, 50, 30)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "masks" / "p0.png")
    with pytest.raises(DefocusError, match="does not match its image"):
        DefocusMaskDataset(defocus_mask_pairs(root), crop=None)[(0, 0)]
