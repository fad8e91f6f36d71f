"""A blur-map run: realistic scenes plus masked photos, validated by map scores."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from PIL import Image
from safetensors import safe_open

from defocus.blurmap.learned import learned_blur_map
from defocus.errors import DefocusError
from defocus.train.config import check_names, config_from_dict
from defocus.train.trainer import train

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "blurmap_smoke.toml"


def masked_photos(root: Path, count: int = 3) -> Path:
    """Photos whose right half is blurred, with masks saying so."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for index in range(count):
        photo = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
        photo[:, 28:] = photo[:, 28:].mean(axis=(0, 1)).astype(np.uint8)
        mask = np.zeros((40, 56), np.uint8)
        mask[:, 28:] = 255
        Image.fromarray(photo).save(root / "images" / f"photo{index}.png")
        Image.fromarray(mask).save(root / "masks" / f"photo{index}.png")
    return root


def recipe(**data):
    table = tomllib.loads(SMOKE.read_text())
    table["data"].update(data)
    config = config_from_dict(table, "test")
    check_names(config, "test")
    return config


def test_blur_map_run_trains_on_scenes_and_masks_and_scores_both(tmp_path) -> None:
    config = recipe(masks=str(masked_photos(tmp_path / "masked")))
    result = train(config, tmp_path / "run")
    assert result.stopped_at == 0 and result.stages[0].steps == 4
    rows = list(csv.DictReader(open(tmp_path / "run" / "smoke" / "log.csv")))
    last = rows[-1]
    assert math.isfinite(float(last["loss"]))
    for score in ("val_radius_error", "val_f_beta", "val_mae"):
        assert math.isfinite(float(last[score])), score
    best = Path(result.stages[0].best)
    with safe_open(str(best), framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["architecture"] == "blurmap-unet" and metadata["task"] == "blur-map"
    # the trained weights are an estimator the library loads by their metadata
    photo = torch.rand(1, 3, 37, 45, generator=torch.Generator().manual_seed(1))
    maps = learned_blur_map(photo, best)
    assert maps.radius.shape == (1, 1, 37, 45) and maps.probability.shape == (1, 1, 37, 45)
    assert (maps.radius >= 0).all() and ((maps.probability >= 0) & (maps.probability <= 1)).all()


def test_blur_map_task_refuses_restoration_settings() -> None:
    table = tomllib.loads(SMOKE.read_text())
    table["data"]["blur"] = "defocus"
    with pytest.raises(DefocusError, match="realistic"):
        config_from_dict(table, "test")
    table = tomllib.loads(SMOKE.read_text())
    table["model"]["name"] = "arknet"
    with pytest.raises(DefocusError, match="unknown model 'arknet' for task 'blur-map'"):
        check_names(config_from_dict(table, "test"), "test")
    table = tomllib.loads(SMOKE.read_text())
    table["train"]["val_metrics"] = ["psnr"]
    table["train"]["best_metric"] = "psnr"
    with pytest.raises(DefocusError, match="unknown metric 'psnr'"):
        check_names(config_from_dict(table, "test"), "test")


def test_masks_need_a_blur_map_task(tmp_path) -> None:
    table = tomllib.loads(SMOKE.read_text())
    table["model"] = {"name": "tiny-unet", "in_channels": 3}
    table["data"]["masks"] = str(tmp_path)
    with pytest.raises(DefocusError, match=r"data\.masks"):
        config_from_dict(table, "test")
