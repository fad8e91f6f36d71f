import pytest
import torch

from defocus.classical import create_method, list_methods
from defocus.errors import DefocusError

NAMES = [
    "al",
    "gwis",
    "gwis-blind",
    "mlm",
    "mrl",
    "red-fp",
    "red-sd",
    "richardson-lucy",
    "wiener",
    "wiener-blind",
]


def test_registry_lists_every_method():
    assert list_methods() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_method_runs_batched(name):
    fast = {"iterations": 3} if name not in ("wiener", "wiener-blind") else {}
    method = create_method(name, **fast)
    y = torch.rand(2, 3, 20, 24)
    out = method(y, "box:3")
    assert out.shape == y.shape and out.dtype == y.dtype and torch.isfinite(out).all()


def test_unknown_method():
    with pytest.raises(DefocusError, match="unknown deblurring method"):
        create_method("deconvnet")
