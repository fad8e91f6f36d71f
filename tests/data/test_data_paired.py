import pytest
import torch
from dataset_helpers import random_pixels, save_image

from defocus.color import to_luma
from defocus.data import PairedImageDataset, ark_dataset, dpdd_dataset, realdof_dataset
from defocus.errors import DefocusError
from defocus.io import read_image


def test_plain_folders_pair_by_stem_and_load(tmp_path, make_pairs):
    make_pairs(tmp_path / "blurry", tmp_path / "sharp")
    # a different extension on one side still pairs by stem
    save_image(tmp_path / "sharp" / "d.jpg", random_pixels(9))
    save_image(tmp_path / "blurry" / "d.png", random_pixels(9))
    ds = PairedImageDataset(tmp_path / "blurry", tmp_path / "sharp")
    assert len(ds) == 4
    assert [(b.name, s.name) for b, s in ds.pairs][-1] == ("d.png", "d.jpg")
    blurry, sharp = ds[0]
    torch.testing.assert_close(blurry, read_image(tmp_path / "blurry" / "a.png").pixels)
    torch.testing.assert_close(sharp, read_image(tmp_path / "sharp" / "a.png").pixels)


def test_crops_match_and_are_deterministic(tmp_path, make_pairs):
    make_pairs(tmp_path / "b", tmp_path / "s", bit_depth=16)
    ds = PairedImageDataset(tmp_path / "b", tmp_path / "s", crop=8, augment=True, seed=5)
    full_sharp = read_image(tmp_path / "s" / "b.png").pixels
    windows = full_sharp.unfold(1, 8, 1).unfold(2, 8, 1)  # (3, H-7, W-7, 8, 8)
    for epoch in range(6):
        blurry, sharp = ds[(epoch, 1)]
        assert blurry.shape == sharp.shape == (3, 8, 8)
        # same window and same flip/rotation on both sides (blurry = 1 - sharp)
        torch.testing.assert_close(blurry, 1.0 - sharp, atol=2e-5, rtol=0)
        # the crop is a window of the image, up to a dihedral transform
        found = False
        for code in range(8):
            t = torch.rot90(sharp, code & 3, dims=(-2, -1))
            t = t.flip(-1) if code & 4 else t
            diff = (windows - t[:, None, None]).abs().amax(dim=(0, 3, 4))
            found |= bool((diff < 1e-6).any())
        assert found
    again = PairedImageDataset(tmp_path / "b", tmp_path / "s", crop=8, augment=True, seed=5)
    assert torch.equal(ds[(3, 2)][0], again[(3, 2)][0])
    crops = {tuple(ds[(e, 0)][1].flatten()[:4].tolist()) for e in range(8)}
    assert len(crops) > 1  # epochs draw new crops
    ds.set_epoch(3)
    assert torch.equal(ds[2][1], ds[(3, 2)][1])


def test_luma_and_bit_depth(tmp_path, make_pairs):
    make_pairs(tmp_path / "b", tmp_path / "s", bit_depth=16)
    rgb = PairedImageDataset(tmp_path / "b", tmp_path / "s")
    luma = PairedImageDataset(tmp_path / "b", tmp_path / "s", luma=True)
    b, s = luma[1]
    assert b.shape == (1, 24, 30)
    torch.testing.assert_close(s, to_luma(rgb[1][1][None])[0])
    # 16-bit codes survive the compact cache exactly
    cached = PairedImageDataset(tmp_path / "b", tmp_path / "s", cache=True)
    assert torch.equal(cached[1][1], read_image(tmp_path / "s" / "b.png").pixels)
    assert torch.equal(cached[1][1], cached[1][1])


def test_missing_counterpart_is_a_clear_error(tmp_path, make_pairs):
    make_pairs(tmp_path / "b", tmp_path / "s")
    (tmp_path / "s" / "c.png").unlink()
    with pytest.raises(DefocusError, match=r"c\.png.*no sharp image named 'c'"):
        PairedImageDataset(tmp_path / "b", tmp_path / "s")
    with pytest.raises(DefocusError, match="no such file or folder"):
        PairedImageDataset(tmp_path / "nothing", tmp_path / "s")


def test_unreadable_and_size_mismatch(tmp_path, make_pairs):
    make_pairs(tmp_path / "b", tmp_path / "s")
    (tmp_path / "b" / "a.png").write_bytes(b"garbage")
    save_image(tmp_path / "s" / "b.png", random_pixels(1, size=(20, 30)))
    ds = PairedImageDataset(tmp_path / "b", tmp_path / "s")
    with pytest.raises(DefocusError, match=r"a\.png: not a recognised image"):
        ds[0]
    with pytest.raises(DefocusError, match=r"b\.png: size 24x30x3 differs .* \(20x30x3\)"):
        ds[1]
    small = PairedImageDataset(tmp_path / "b", tmp_path / "s", crop=64)
    with pytest.raises(DefocusError, match="smaller than the 64px crop"):
        small[2]


def test_dpdd_layout(tmp_path, make_pairs):
    root = tmp_path / "dd_dp_dataset_png"
    make_pairs(root / "test_c" / "source", root / "test_c" / "target", stems=("1P0A1", "1P0A2"))
    make_pairs(root / "train_c" / "source", root / "train_c" / "target", stems=("x",))
    save_image(root / "train_l" / "source" / "x.png", random_pixels(3))
    for given in (tmp_path, root):
        ds = dpdd_dataset(given, "test")
        assert [b.stem for b, _ in ds.pairs] == ["1P0A1", "1P0A2"]
        assert ds.pairs[0][0].parent.name == "source" and ds.pairs[0][1].parent.name == "target"
    assert len(dpdd_dataset(tmp_path, "train", crop=8)) == 1
    with pytest.raises(DefocusError, match="no val_c/ inside"):
        dpdd_dataset(tmp_path, "val")
    with pytest.raises(DefocusError, match="split must be one of"):
        dpdd_dataset(tmp_path, "dev")


def test_realdof_layout(tmp_path, make_pairs):
    make_pairs(tmp_path / "RealDOF" / "source", tmp_path / "RealDOF" / "target")
    for given in (tmp_path, tmp_path / "RealDOF"):
        ds = realdof_dataset(given, crop=16, seed=1)
        blurry, sharp = ds[0]
        torch.testing.assert_close(blurry, 1.0 - sharp, atol=1e-6, rtol=0)
    with pytest.raises(DefocusError, match="not a RealDOF dataset folder"):
        realdof_dataset(tmp_path / "RealDOF" / "source")


def test_ark_layout(tmp_path, make_pairs):
    root = tmp_path / "ARK"
    for level in ("low", "Medium", "high"):  # level folders matched case-insensitively
        make_pairs(root / level, root / "gt", stems=("s1", "s2"))
    ds = ark_dataset(tmp_path)
    assert len(ds) == 6
    assert ds.levels == ["low"] * 2 + ["medium"] * 2 + ["high"] * 2
    assert all(s.parent.name == "gt" for _, s in ds.pairs)
    high = ark_dataset(root, "high", luma=True)
    assert len(high) == 2 and high[0][0].shape[0] == 1
    (root / "low" / "s2.png").unlink()
    with pytest.raises(DefocusError, match=r"s2\.png: no low-blur image named 's2'"):
        ark_dataset(root, "low")
    with pytest.raises(DefocusError, match="blur level must be one of"):
        ark_dataset(root, "extreme")
    with pytest.raises(DefocusError, match="not a ARK dataset folder"):
        ark_dataset(tmp_path / "ARK" / "gt")
