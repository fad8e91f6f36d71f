"""Stand-ins for data, losses and metrics while those packages are being written."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from defocus.train import trainer as trainer_module
from defocus.train.data import ValidationPair
from defocus.train.scenes import generated_scenes


def _blur(x):
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


class _Pairs(Dataset):
    def __init__(self, scenes, crop, seed):
        self.scenes, self.crop, self.seed = scenes, crop, seed

    def __len__(self):
        return len(self.scenes)

    def __getitem__(self, item):
        epoch, index = item
        g = torch.Generator().manual_seed(self.seed * 10007 + epoch * 101 + index)
        scene = self.scenes[index]
        top = int(torch.randint(scene.shape[-2] - self.crop + 1, (1,), generator=g))
        left = int(torch.randint(scene.shape[-1] - self.crop + 1, (1,), generator=g))
        sharp = scene[:, top : top + self.crop, left : left + self.crop]
        return _blur(sharp[None])[0], sharp


class _L1(nn.Module):
    def __init__(self, terms):
        super().__init__()
        self.terms = terms

    def forward(self, out, gt):
        values = {}
        for term in self.terms:
            values[term["name"]] = (out - gt).abs().mean() if term["name"] == "l1" else -out.std()
        total = sum(term["weight"] * values[term["name"]] for term in self.terms)
        return total, values


class _PSNR(nn.Module):
    lower_is_better = False
    inputs = ("restored", "reference")

    def forward(self, restored, reference):
        mse = ((restored - reference) ** 2).flatten(1).mean(1)
        return -10 * torch.log10(mse.clamp_min(1e-10))


@pytest.fixture
def standins(monkeypatch):
    def training(config, seed):
        scenes = generated_scenes(config.generated_images, config.generated_size, 1, seed)
        return _Pairs(scenes[config.val_holdout :], config.crop, seed)

    def validation(config, seed):
        scenes = generated_scenes(config.generated_images, config.generated_size, 1, seed)
        return [
            ValidationPair(f"s{i}", _blur(s[None]), s[None])
            for i, s in enumerate(scenes[: config.val_holdout])
        ]

    monkeypatch.setattr(trainer_module, "build_training_data", training)
    monkeypatch.setattr(trainer_module, "build_validation_pairs", validation)
    monkeypatch.setattr(
        trainer_module, "build_stage_loss", lambda stage: _L1(trainer_module.stage_terms(stage))
    )
    monkeypatch.setattr(trainer_module, "create_metric", lambda name: _PSNR())


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread, above all on a loaded shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
