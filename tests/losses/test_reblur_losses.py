from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from defocus.errors import DefocusError
from defocus.losses import (
    CompositeLoss,
    ReblurLoss,
    SelfReblurLoss,
    l1_loss,
    reblur_loss,
    reblur_module_loss,
    reblur_step,
    self_reblur_loss,
)
from defocus.models.reblur import ReblurModule


def setup() -> tuple[ReblurModule, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    reblur = ReblurModule(1, features=8, blocks=1)
    sharp = torch.rand(2, 1, 12, 12)
    blurry = torch.nn.functional.avg_pool2d(sharp, 3, stride=1, padding=1)
    restored = (sharp + blurry) / 2
    return reblur, restored, sharp, blurry


def test_module_loss_is_blur_plus_sharp_and_detaches_restored():
    reblur, restored, sharp, blurry = setup()
    restored.requires_grad_(True)
    total, terms = reblur_module_loss(reblur, restored, sharp, blurry, reduction="none")
    with torch.no_grad():
        blur = l1_loss(reblur(restored), blurry, "none")
        keep = l1_loss(reblur(sharp), sharp, "none")
    torch.testing.assert_close(terms["blur"], blur)
    torch.testing.assert_close(terms["sharp"], keep)
    torch.testing.assert_close(total, blur + keep)
    total.sum().backward()
    assert restored.grad is None
    assert all(p.grad is not None for p in reblur.parameters())


def test_supervised_loss_value_and_gradients():
    reblur, restored, sharp, _ = setup()
    restored.requires_grad_(True)
    value = reblur_loss(reblur, restored, sharp)
    with torch.no_grad():
        torch.testing.assert_close(value, l1_loss(reblur(restored), reblur(sharp)))
    value.backward()
    assert restored.grad is not None and restored.grad.abs().sum() > 0
    assert all(p.grad is None for p in reblur.parameters())
    assert reblur_loss(reblur, sharp, sharp) == 0


def test_self_supervised_loss_value_and_gradients():
    reblur, restored, _, _ = setup()
    restored.requires_grad_(True)
    value = self_reblur_loss(reblur, restored, reduction="sum")
    with torch.no_grad():
        torch.testing.assert_close(value, l1_loss(reblur(restored), restored, "sum"))
    value.backward()
    assert restored.grad is not None
    assert all(p.grad is None for p in reblur.parameters())


def test_reblur_step_lowers_module_loss():
    reblur, restored, sharp, blurry = setup()
    optimizer = torch.optim.Adam(reblur.parameters(), lr=1e-3)
    first = reblur_step(reblur, optimizer, restored, sharp, blurry)
    assert set(first) == {"loss", "blur", "sharp"}
    for _ in range(20):
        last = reblur_step(reblur, optimizer, restored, sharp, blurry)
    assert last["loss"] < first["loss"]


def test_loss_modules_in_composite_with_pretrained_module(tmp_path: Path):
    reblur, restored, sharp, _ = setup()
    path = tmp_path / "mr.safetensors"
    save_file(reblur.state_dict(), str(path))
    options = {"in_channels": 1, "features": 8, "blocks": 1, "pretrained": str(path)}
    loss = CompositeLoss(
        [{"name": "l1"}, {"name": "reblur", **options}, {"name": "self-reblur", **options}]
    )
    total, terms = loss(restored, sharp)
    torch.testing.assert_close(terms["reblur"], reblur_loss(reblur, restored, sharp))
    torch.testing.assert_close(terms["self-reblur"], self_reblur_loss(reblur, restored))
    torch.testing.assert_close(total, sum(terms.values()))
    assert ReblurLoss(reduction="none")(restored, sharp).shape == (2,)
    assert SelfReblurLoss(reduction="none")(restored).shape == (2,)


def test_wrong_pretrained_module(tmp_path: Path):
    path = tmp_path / "mr.safetensors"
    save_file(ReblurModule(3).state_dict(), str(path))
    with pytest.raises(DefocusError, match=r"mr\.safetensors"):
        ReblurLoss(in_channels=1, pretrained=path)
