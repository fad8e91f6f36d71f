"""LPIPS-AlexNet (v0.1): published reference values, properties, gradients, offline weights."""

from __future__ import annotations

import hashlib
import pickle
import re
from importlib import resources
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from defocus.backbones.alexnet import WEIGHTS_FILE
from defocus.io import read_image
from defocus.metrics.base import create_metric, list_metrics
from defocus.metrics.lpips import LPIPS, MIN_SIZE, lpips

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lpips"
SRC = Path(__file__).resolve().parents[2] / "src" / "defocus"

# sha256sum of the file written by scripts/convert_lpips_weights.py (docs/lpips-weights.md).
WEIGHTS_SHA256 = "88ae043325f24394567b475fc823aab8900877a70f70d6fa1b993f04a9f5e9ad"


def _load(name: str) -> torch.Tensor:
    return read_image(FIXTURES / f"{name}.png").pixels.unsqueeze(0)


@pytest.fixture(scope="module")
def examples() -> dict[str, torch.Tensor]:
    return {name: _load(name) for name in ("ex_ref", "ex_p0", "ex_p1")}


@pytest.fixture(scope="module")
def noise() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 40, 48, generator=g), torch.rand(2, 3, 40, 48, generator=g)


# The LPIPS authors' test_network.py prints these LPIPS-alex distances for their examples.
@pytest.mark.parametrize(("other", "published"), [("ex_p0", 0.722), ("ex_p1", 0.138)])
def test_published_reference_values(examples, other, published):
    value = lpips(examples["ex_ref"], examples[other])
    assert value.shape == (1,)
    assert round(value.item(), 3) == published


def test_module_and_registry_match_function(examples):
    assert "lpips" in list_metrics()
    metric = create_metric("lpips")
    assert isinstance(metric, LPIPS)
    assert metric.lower_is_better is True
    assert metric.inputs == ("restored", "reference")
    ref, p0 = examples["ex_ref"], examples["ex_p0"]
    torch.testing.assert_close(metric(ref, p0), lpips(ref, p0), rtol=0, atol=0)


def test_parameters_frozen_and_eval():
    metric = LPIPS()
    assert not metric.training
    params = list(metric.parameters())
    assert len(params) == 15
    assert all(not p.requires_grad for p in params)


def test_identity_is_zero(examples, noise):
    for x in (examples["ex_ref"], noise[0]):
        assert torch.equal(lpips(x, x), torch.zeros(x.shape[0]))


def test_symmetric_and_positive(noise):
    x, y = noise
    d = lpips(x, y)
    assert (d > 0).all()
    torch.testing.assert_close(d, lpips(y, x), rtol=1e-6, atol=1e-7)


def test_batch_equals_singles(examples):
    ref = examples["ex_ref"]
    others = torch.cat([examples["ex_p0"], examples["ex_p1"]])
    batched = lpips(ref.expand(2, -1, -1, -1), others)
    singles = torch.cat([lpips(ref, others[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(batched, singles, rtol=1e-5, atol=1e-6)


def test_grey_equals_repeated_rgb(noise):
    x, y = noise[0][:, :1], noise[1][:, :1]
    grey = lpips(x, y)
    assert grey.shape == (2,)
    torch.testing.assert_close(grey, lpips(x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1)))


def test_float64_agrees_with_float32(examples, noise):
    pairs = [(examples["ex_ref"], examples["ex_p0"]), noise]
    for x, y in pairs:
        d64 = lpips(x.double(), y.double())
        assert d64.dtype == torch.float64
        torch.testing.assert_close(d64.float(), lpips(x, y), rtol=1e-5, atol=1e-5)


def test_smallest_accepted_size_and_rectangular():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, MIN_SIZE, MIN_SIZE + 20, generator=g)
    y = torch.rand(1, 3, MIN_SIZE, MIN_SIZE + 20, generator=g)
    assert torch.isfinite(lpips(x, y)).all()


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 3, 30, 64), "at least 31x31"), ((1, 2, 64, 64), "1- or 3-channel")],
)
def test_bad_input_raises(shape, message):
    x = torch.rand(shape)
    with pytest.raises(ValueError, match=message):
        lpips(x, x)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shapes differ"):
        lpips(torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 41))


@pytest.mark.parametrize(
    "make",
    [
        lambda g: torch.zeros(1, 3, 36, 36),
        lambda g: torch.ones(1, 3, 36, 36),
        lambda g: torch.full((1, 1, 36, 36), 0.5),
        lambda g: torch.rand(1, 3, 36, 36, generator=g),
    ],
    ids=["black", "white", "flat-grey", "noise"],
)
def test_gradients_finite(make):
    g = torch.Generator().manual_seed(2)
    x = make(g).requires_grad_(True)
    y = torch.rand(x.shape, generator=g)
    for target in (y, x.detach().clone()):
        (grad,) = torch.autograd.grad(lpips(x, target).sum(), x)
        assert torch.isfinite(grad).all()


def test_gradients_reach_both_inputs_as_a_loss(noise):
    x = noise[0].clone().requires_grad_(True)
    y = noise[1].clone().requires_grad_(True)
    lpips(x, y).mean().backward()
    assert x.grad is not None and y.grad is not None
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 1, MIN_SIZE, MIN_SIZE, generator=g, dtype=torch.float64)
    y = torch.rand(1, 1, MIN_SIZE, MIN_SIZE, generator=g, dtype=torch.float64)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: lpips(a, y), (x,), fast_mode=True)


def test_weights_file_is_bundled_safetensors():
    source = resources.files("defocus").joinpath("weights", WEIGHTS_FILE)
    with resources.as_file(source) as path:
        data = Path(path).read_bytes()
        with safe_open(str(path), framework="pt") as f:
            shapes = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    assert 9_000_000 < len(data) < 11_000_000
    assert hashlib.sha256(data).hexdigest() == WEIGHTS_SHA256
    expected = {}
    for i, (cin, cout, k) in enumerate(
        [(3, 64, 11), (64, 192, 5), (192, 384, 3), (384, 256, 3), (256, 256, 3)]
    ):
        expected[f"features.{i}.weight"] = (cout, cin, k, k)
        expected[f"features.{i}.bias"] = (cout,)
        expected[f"lin.{i}.weight"] = (1, cout, 1, 1)
    assert shapes == expected


def test_loading_never_unpickles(monkeypatch, examples):
    def forbidden(*args, **kwargs):
        raise AssertionError("LPIPS weights must not be unpickled")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    metric = LPIPS()
    assert round(metric(examples["ex_ref"], examples["ex_p1"]).item(), 3) == 0.138


def _calls(text: str, name: str) -> list[str]:
    """The argument text of every ``name(...)`` call in ``text`` (balanced parentheses)."""
    calls = []
    for match in re.finditer(re.escape(name) + r"\(", text):
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        calls.append(text[match.end() : end - 1])
    return calls


def test_source_never_unpickles():
    unsafe = re.compile(r"^\s*(import|from)\s+(pickle|dill|joblib)\b|\bpickle\.|allow_pickle=True")
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            assert not unsafe.search(line), f"{path}: {line.strip()}"
        for args in _calls(text, "torch.load"):
            assert "weights_only=True" in args, f"{path}: torch.load({args}) without weights_only"
