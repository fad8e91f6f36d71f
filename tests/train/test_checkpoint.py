import random

import numpy as np
import pytest
import torch

from defocus.errors import DefocusError
from defocus.train import checkpoint as ckpt
from defocus.train.checkpoint import CheckpointDir, capture_rng, restore_rng


def weights(value: float) -> dict[str, torch.Tensor]:
    return {"conv.weight": torch.full((2, 3), value), "bn.num_batches_tracked": torch.tensor(7)}


def full_state(step: int) -> dict:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    return {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "rng": capture_rng(),
        "best": {"value": float("nan"), "name": ""},
    }


def test_save_load_roundtrip_is_weights_only_loadable(tmp_path) -> None:
    store = CheckpointDir(tmp_path / "ck")
    name = store.save(5, weights(1.5), full_state(5), {"model": "x"})
    assert name == "step-00000005" and store.latest() == name
    loaded, state = store.load(name)
    assert torch.equal(loaded["conv.weight"], weights(1.5)["conv.weight"])
    assert state["step"] == 5 and state["optimizer"]["state"][0]["exp_avg"].shape == (2, 3)
    # the state file really is loadable with weights_only=True on its own
    torch.load(store.state_path(name), weights_only=True)


def test_rng_roundtrip_restores_every_generator() -> None:
    saved = capture_rng()
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.rand(5), np.random.rand(5), random.random()  # noqa: NPY002
    restore_rng(saved)
    again = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]


@pytest.mark.parametrize("failing", ["save_file", "save"])
def test_interrupted_write_keeps_previous_checkpoint(tmp_path, monkeypatch, failing) -> None:
    store = CheckpointDir(tmp_path)
    store.save(2, weights(2.0), full_state(2))

    def explode(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    if failing == "save":
        monkeypatch.setattr(ckpt.torch, "save", explode)
    else:
        monkeypatch.setattr(ckpt, "save_file", explode)
    with pytest.raises(KeyboardInterrupt):
        store.save(4, weights(4.0), full_state(4))
    monkeypatch.undo()
    assert store.latest() == "step-00000002"
    loaded, state = store.load(store.latest())
    assert torch.equal(loaded["conv.weight"], weights(2.0)["conv.weight"]) and state["step"] == 2
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    # a later save at that step succeeds and prune removes leftovers
    store.save(4, weights(4.0), full_state(4))
    store.prune(keep_last=1)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == [
        "step-00000004.safetensors",
        "step-00000004.state.pt",
    ]


def test_prune_keeps_recent_latest_and_best(tmp_path) -> None:
    store = CheckpointDir(tmp_path)
    for step in (1, 2, 3, 4):
        store.save(step, weights(float(step)), {"step": step})
        if step == 1:
            store.mark_best("step-00000001")
    store.prune(keep_last=2)
    kept = sorted({p.name.split(".")[0] for p in tmp_path.glob("step-*")})
    assert kept == ["step-00000001", "step-00000003", "step-00000004"]
    assert store.best() == "step-00000001"


def test_broken_pointer_is_a_clear_error(tmp_path) -> None:
    store = CheckpointDir(tmp_path)
    assert store.latest() is None
    (tmp_path / "latest").write_text("step-00000009\n")
    with pytest.raises(DefocusError, match="missing"):
        store.latest()
    (tmp_path / "latest").write_text("garbage")
    with pytest.raises(DefocusError, match="not a checkpoint pointer"):
        store.latest()
