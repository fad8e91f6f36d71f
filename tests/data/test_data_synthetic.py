import cv2
import numpy as np
import pytest
import torch
from dataset_helpers import random_pixels, save_image
from torch.utils.data import DataLoader

from defocus.color import to_luma
from defocus.data import (
    DegradationConfig,
    SyntheticDefocusDataset,
    degradation_preset,
    mmsp_synthetic_dataset,
)
from defocus.degrade import blur, box_kernel, disk_kernel, gaussian_kernel, ring_kernel
from defocus.errors import DefocusError
from defocus.io import read_image

NO_NOISE = {"noise_sigma": (0.0, 0.0)}


def images(n=3, size=(40, 52)):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, *size, generator=g) for _ in range(n)]


def fixed(kind, size):
    field = {"disk": "disk_radius", "ring": "ring_radius", "gaussian": "gaussian_sigma"}
    key = field.get(kind, "box_size")
    return DegradationConfig(kinds=(kind,), **{key: (size, size)}, **NO_NOISE)


def test_fixed_config_from_psf_spec():
    assert DegradationConfig.fixed("ring:4", 0.01) == DegradationConfig(
        kinds=("ring",), ring_radius=(4.0, 4.0), noise_sigma=(0.01, 0.01)
    )
    assert DegradationConfig.fixed("box:5").box_size == (5, 5)
    for bad in ("box:2.5", "motion:3", "disk:x", "disk:-1"):
        with pytest.raises(DefocusError, match="invalid fixed PSF"):
            DegradationConfig.fixed(bad)


KERNELS = [
    ("disk", 2.5, disk_kernel(2.5)),
    ("ring", 4.0, ring_kernel(4.0)),
    ("gaussian", 1.2, gaussian_kernel(1.2)),
    ("box", 4, box_kernel(4)),  # even size: centre at index 2
    ("disk", 30.0, disk_kernel(30.0)),  # wider than the image
]


@pytest.mark.parametrize(("kind", "size", "kernel"), KERNELS)
def test_whole_image_equals_blur_reflect(kind, size, kernel):
    imgs = images()
    ds = SyntheticDefocusDataset(imgs, fixed(kind, size), crop=None, augment=False)
    blurry, sharp = ds[1]
    assert torch.equal(sharp, imgs[1])
    ref = blur(imgs[1][None].double(), kernel, "reflect")[0].float()
    assert (blurry - ref).abs().max() < 2e-6


@pytest.mark.parametrize(("kind", "size", "kernel"), KERNELS)
def test_crop_is_a_window_of_the_blurred_image(kind, size, kernel):
    imgs = images()
    ds = SyntheticDefocusDataset(imgs, fixed(kind, size), crop=16, augment=False, seed=4)
    ref = blur(imgs[2][None].double(), kernel, "reflect")[0].float()
    windows = imgs[2].unfold(1, 16, 1).unfold(2, 16, 1)  # (3, 25, 37, 16, 16)
    for epoch in range(4):
        blurry, sharp = ds[(epoch, 2)]
        match = ((windows - sharp[:, None, None]).abs().amax(dim=(0, 3, 4)) == 0).nonzero()
        assert len(match) == 1
        top, left = match[0].tolist()
        assert (blurry - ref[:, top : top + 16, left : left + 16]).abs().max() < 2e-6


def test_augmentation_transforms_both_images_alike():
    imgs = images()
    config = fixed("disk", 3.0)
    plain = SyntheticDefocusDataset(imgs, config, crop=20, augment=False, seed=1)
    aug = SyntheticDefocusDataset(imgs, config, crop=20, augment=True, seed=1)
    codes = set()
    for epoch in range(12):
        b0, s0 = plain[(epoch, 0)]
        b1, s1 = aug[(epoch, 0)]
        for code in range(8):
            t = torch.rot90(s0, code & 3, dims=(-2, -1))
            t = t.flip(-1) if code & 4 else t
            if torch.equal(t, s1):
                tb = torch.rot90(b0, code & 3, dims=(-2, -1))
                tb = tb.flip(-1) if code & 4 else tb
                assert (tb - b1).abs().max() < 2e-6
                codes.add(code)
                break
        else:
            raise AssertionError("augmented crop is no dihedral transform of the plain crop")
    assert len(codes) > 3


def test_same_item_same_pair_independent_of_global_rng():
    imgs = images()
    a = SyntheticDefocusDataset(imgs, "defocus", crop=24, seed=7)
    b = SyntheticDefocusDataset(imgs, "defocus", crop=24, seed=7)
    torch.manual_seed(123)
    np.random.seed(5)  # noqa: NPY002  (global state must not matter)
    first = a[(3, 1)]
    torch.manual_seed(999)
    second = b[(3, 1)]
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert a.sample_params((3, 1)) == b.sample_params((3, 1))
    other = SyntheticDefocusDataset(imgs, "defocus", crop=24, seed=8)[(3, 1)]
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(a[(4, 1)][0], first[0])  # a new epoch draws anew
    a.set_epoch(3)
    assert torch.equal(a[1][0], first[0])


def test_multiworker_loader_matches_single_process():
    imgs = images(4)
    ds = SyntheticDefocusDataset(imgs, "defocus", crop=16, seed=2)
    batches = [[(0, 0), (0, 3)], [(1, 2), (1, 1)], [(2, 0), (0, 0)]]
    single = [b for b, _ in DataLoader(ds, batch_sampler=batches, num_workers=0)]
    multi = [b for b, _ in DataLoader(ds, batch_sampler=batches, num_workers=2)]
    for x, y in zip(single, multi, strict=True):
        assert torch.equal(x, y)
    assert torch.equal(single[0][0], single[2][1])  # (0, 0) wherever it is produced


def test_noise_level_and_parameter_ranges():
    flat = [torch.full((3, 64, 64), 0.5)]
    config = DegradationConfig(disk_radius=(2, 2), noise_sigma=(0.05, 0.05))
    blurry, sharp = SyntheticDefocusDataset(flat, config, crop=48)[0]
    assert float((blurry - sharp).std()) == pytest.approx(0.05, rel=0.05)
    ds = SyntheticDefocusDataset(flat, "defocus", crop=32)
    params = [ds.sample_params((e, 0)) for e in range(200)]
    kinds = {p["kind"] for p in params}
    assert kinds == {"disk", "ring", "gaussian"}
    disk = [p["size"] for p in params if p["kind"] == "disk"]
    assert 1.0 <= min(disk) and max(disk) <= 5.0 and max(disk) - min(disk) > 2
    assert all(0.0 <= p["noise_sigma"] <= 0.02 for p in params)
    shot = DegradationConfig(noise_sigma=(0.0, 0.0), poisson_peak=(10.0, 1000.0))
    peaks = [shot.sample(np.random.default_rng(i))["poisson_peak"] for i in range(50)]
    assert 10.0 <= min(peaks) and max(peaks) <= 1000.0


def test_luma_equals_luma_of_rgb():
    imgs = images()
    config = fixed("gaussian", 1.5)
    rgb = SyntheticDefocusDataset(imgs, config, crop=16, seed=3)
    luma = SyntheticDefocusDataset(imgs, config, crop=16, seed=3, luma=True)
    (b_rgb, s_rgb), (b_y, s_y) = rgb[(1, 2)], luma[(1, 2)]
    assert b_y.shape == s_y.shape == (1, 16, 16)
    assert (to_luma(b_rgb[None])[0] - b_y).abs().max() < 1e-6
    assert (to_luma(s_rgb[None])[0] - s_y).abs().max() < 1e-6


def test_files_8_and_16_bit_and_errors(tmp_path):
    save_image(tmp_path / "a.png", random_pixels(0, size=(40, 40)), bit_depth=16)
    save_image(tmp_path / "b.jpg", random_pixels(1, size=(40, 40)))
    ds = SyntheticDefocusDataset(tmp_path, "defocus", crop=None, augment=False)
    assert torch.equal(ds[0][1], read_image(tmp_path / "a.png").pixels)
    assert torch.equal(ds[1][1], read_image(tmp_path / "b.jpg").pixels)
    with pytest.raises(DefocusError, match=r"a\.png: image of 40x40 is smaller than the 64px"):
        SyntheticDefocusDataset(tmp_path, crop=64)[0]
    (tmp_path / "c.png").write_bytes(b"oops")
    with pytest.raises(DefocusError, match=r"c\.png"):
        SyntheticDefocusDataset(tmp_path)[2]
    with pytest.raises(DefocusError, match="unknown degradation preset 'nope'"):
        SyntheticDefocusDataset(tmp_path, "nope")
    with pytest.raises(DefocusError, match="PSF kinds"):
        DegradationConfig(kinds=("motion",))
    with pytest.raises(DefocusError, match="disk_radius"):
        DegradationConfig(disk_radius=(3.0, 1.0))


def test_mmsp_protocol_matches_opencv_box_filter():
    img = images(1, (33, 45))[0]
    ds = mmsp_synthetic_dataset([img])
    blurry, sharp = ds[0]
    y = to_luma(img[None])[0, 0].double().numpy()
    ref = cv2.blur(y, (5, 5), borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(blurry[0].double().numpy() - ref).max() < 1e-6
    assert torch.equal(sharp, to_luma(img[None])[0])
    preset = degradation_preset("mmsp_box")
    assert preset.kinds == ("box",) and preset.box_size == (5, 5) and preset.noise_sigma == (0, 0)
    r3 = degradation_preset("defocus_r3")
    assert r3.disk_radius == (3, 3) and r3.noise_sigma == (0.01, 0.01)


def test_items_never_alias_the_cache():
    imgs = images(1)
    ds = SyntheticDefocusDataset(imgs, fixed("disk", 1.0), crop=None, augment=False)
    blurry, sharp = ds[0]
    sharp.zero_()
    blurry.zero_()
    again = ds[0]
    assert torch.equal(again[1], imgs[0]) and float(again[0].abs().sum()) > 0
