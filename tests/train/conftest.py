"""Stand-ins for losses and metrics while those packages are being written."""

import pytest
import torch
from torch import nn

from defocus.train import trainer as trainer_module


class _Composite(nn.Module):
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
    monkeypatch.setattr(
        trainer_module,
        "build_stage_loss",
        lambda stage: _Composite(trainer_module.stage_terms(stage)),
    )
    monkeypatch.setattr(trainer_module, "create_metric", lambda name: _PSNR())


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread, above all on a loaded shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
