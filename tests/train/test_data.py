import numpy as np
import pytest
import torch
from PIL import Image

from defocus.errors import DefocusError
from defocus.train.config import DataConfig
from defocus.train.data import build_training_data, build_validation_pairs, split_sources
from defocus.train.scenes import generated_scenes


def generated(**changes) -> DataConfig:
    settings = dict(
        source="generated", generated_images=6, generated_size=40, val_holdout=2, crop=24
    )
    settings.update(changes)
    return DataConfig(**settings)


def test_generated_scenes_are_deterministic_and_in_range() -> None:
    a, b = generated_scenes(3, 32, 1, seed=5), generated_scenes(3, 32, 1, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], generated_scenes(1, 32, 1, seed=6)[0])
    assert all(s.shape == (1, 32, 32) and 0 <= s.min() and s.max() <= 1 for s in a)
    assert all(s.std() > 0.05 for s in a)  # not flat: there is something to deblur
    assert generated_scenes(1, 16, 3, seed=0)[0].shape == (3, 16, 16)


def test_holdout_split_and_training_pairs() -> None:
    config = generated()
    training, validation = split_sources(config, 1, seed=0)
    assert len(training) == 4 and [name for name, _ in validation] == ["scene-4", "scene-5"]
    data = build_training_data(config, seed=0)
    blurry, sharp = data[(1, 2)]
    assert blurry.shape == sharp.shape == (1, 24, 24)
    again = build_training_data(config, seed=0)[(1, 2)]
    assert torch.equal(blurry, again[0]) and torch.equal(sharp, again[1])
    assert not torch.equal(blurry, sharp)


def test_validation_pairs_are_whole_blurred_images() -> None:
    pairs = build_validation_pairs(generated(val_limit=1))
    assert len(pairs) == 1 and pairs[0].sharp.shape == (1, 1, 40, 40)
    # the MMSP preset is a 5x5 box blur: the mean is (nearly) kept, edges are softened
    sharp, blurry = pairs[0].sharp, pairs[0].blurry
    assert torch.allclose(sharp.mean(), blurry.mean(), atol=0.02)
    assert blurry.diff(dim=-1).abs().max() < sharp.diff(dim=-1).abs().max()


def photo_folders(root, counts: dict[str, int], prefix: str = "im") -> None:
    """``root/<folder>/<prefix><i>.png``: ``count`` random 30x20 RGB photos per folder."""
    for folder, count in counts.items():
        (root / folder).mkdir()
        for i in range(count):
            pixels = (np.random.default_rng(i).random((20, 30, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / folder / f"{prefix or folder}{i}.png")


def test_folders_with_a_separate_validation_folder(tmp_path) -> None:
    photo_folders(tmp_path, {"train": 3, "val": 2})
    config = DataConfig(train=str(tmp_path / "train"), val=str(tmp_path / "val"), crop=16)
    training, validation = split_sources(config, 1, seed=0)
    assert len(training) == 3 and [n for n, _ in validation] == ["im0", "im1"]
    pairs = build_validation_pairs(config)
    assert pairs[0].sharp.shape == (1, 1, 20, 30)  # luma


def test_the_last_photos_of_further_folders_are_held_out_for_validation(tmp_path) -> None:
    photo_folders(tmp_path, {"train": 3, "more": 4}, prefix="")
    config = DataConfig(
        train=str(tmp_path / "train"),
        train_more=[str(tmp_path / "more")],
        train_more_holdout=1,
        val_holdout=1,
    )
    training, validation = split_sources(config, 1, seed=0)
    assert sorted(p.name for p in training) == [
        "more0.png",
        "more1.png",
        "more2.png",
        "train0.png",
        "train1.png",
    ]
    assert [n for n, _ in validation] == ["train2", "more3"]
    with pytest.raises(DefocusError, match="too few to hold out"):
        split_sources(DataConfig(**{**config.__dict__, "train_more_holdout": 4}), 1, seed=0)


def test_too_few_images_and_missing_folder(tmp_path) -> None:
    with pytest.raises(DefocusError, match="too few to hold out"):
        split_sources(generated(val_holdout=6), 1, seed=0)
    with pytest.raises(DefocusError, match="no such file or folder"):
        split_sources(DataConfig(train=str(tmp_path / "absent")), 1, seed=0)


def test_the_library_has_no_default_photo_folder():
    """``../shared`` may be a command-line default, never the library's."""
    from defocus.errors import DefocusError
    from defocus.train.config import DataConfig
    from defocus.train.data import split_sources

    assert DataConfig().train == ""
    with pytest.raises(DefocusError, match=r"data\.train"):
        split_sources(DataConfig(), 1, 0)


def test_mixed_families_take_turns_and_give_pairs() -> None:
    config = generated(blur="realistic", blur_mix=["defocus"], crop=24)
    data = build_training_data(config, seed=0)
    alone = build_training_data(generated(blur="realistic", crop=24), seed=0)
    assert len(data) == len(alone)
    first, second = data[(0, 0)], data[(0, 1)]
    assert len(first) == len(second) == 2  # the realistic family's map is dropped
    torch.testing.assert_close(first[0], alone[(0, 0)][0])  # item 0, epoch 0: realistic
    assert not torch.equal(data[(1, 0)][0], first[0])  # next epoch: the other family


def test_validation_images_do_not_depend_on_the_run_seed(tmp_path) -> None:
    # runs that differ only in train.seed must be scored on the same degraded images,
    # so that their difference measures seed noise; data.val_seed changes them
    photo_folders(tmp_path, {"train": 4})
    config = DataConfig(train=str(tmp_path / "train"), val_holdout=2, blur="defocus", crop=16)
    first = build_validation_pairs(config)
    other = build_validation_pairs(DataConfig(**{**vars(config), "val_seed": 1}))
    assert torch.equal(first[0].blurry, build_validation_pairs(config)[0].blurry)
    assert not torch.equal(first[0].blurry, other[0].blurry)
    assert torch.equal(first[0].sharp, other[0].sharp)
