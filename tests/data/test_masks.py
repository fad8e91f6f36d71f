"""Masked real photos (the CUHK layout): pairing, errors, crops aligned with masks."""

import numpy as np
import pytest
import torch
from PIL import Image

from defocus.data.masks import (
    UNKNOWN,
    DefocusMaskDataset,
    defocus_mask_pairs,
    read_defocus_mask,
    read_labelled_photos,
)
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


def _labels(tmp_path, body: str):
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "photo.png")
    path = tmp_path / "labels.toml"
    path.write_text(body)
    return path


def test_labelled_boxes_become_a_mask_and_where_it_is_known(tmp_path) -> None:
    path = _labels(
        tmp_path,
        '[[photos]]\nfile = "photo.png"\ndefocused = [[0, 0, 20, 10], [10, 0, 30, 10]]\n'
        "in_focus = [[25, 0, 60, 40]]\n",
    )
    (photo,) = read_labelled_photos(path)
    assert photo.path == tmp_path / "photo.png"
    mask, known = photo.masks(40, 60)
    assert mask.shape == known.shape == (1, 1, 40, 60)
    assert mask[0, 0, :10, :25].eq(1).all() and known[0, 0, :10, :25].eq(1).all()
    assert known[0, 0, :10, 25:30].eq(0).all()  # labelled both ways: left out
    assert mask[0, 0, :, 30:].eq(0).all() and known[0, 0, :, 30:].eq(1).all()
    assert known[0, 0, 10:, :25].eq(0).all()  # unlabelled
    with pytest.raises(DefocusError, match=r"box \[25, 0, 60, 40\] is not inside the 15x40"):
        photo.masks(40, 15)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[photos]]\nfile = 'nope.png'\n", r"nope\.png does not exist"),
        ("[[photos]]\nfile = 'photo.png'\ndefocused = [[0, 0, 1]]\n", "must be .left, top"),
        ("[[photos]]\npackage = 'no_such_package_x'\nfile = 'a.png'\n", "is not installed"),
        ("[[photos]]\ndefocused = []\n", "has no file"),
        ("photos = 3 = 4", "not a readable labels file"),
        ("", r"no \[\[photos\]\] tables"),
    ],
)
def test_bad_labels_files_are_clear_errors(tmp_path, body, message) -> None:
    with pytest.raises(DefocusError, match=message):
        read_labelled_photos(_labels(tmp_path, body))


def test_the_other_photos_benchmark_labels_fit_their_photos() -> None:
    from pathlib import Path

    from defocus.io import read_image

    labels = Path(__file__).parents[2] / "benchmarks" / "other_photos.toml"
    photos = read_labelled_photos(labels)
    assert len(photos) >= 3
    for photo in photos:
        _, known = photo.masks(*read_image(photo.path).pixels.shape[-2:])
        assert photo.defocused and photo.in_focus and known.mean() > 0.05
