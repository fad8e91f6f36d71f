"""Every metric refuses what it cannot score (non-finite, empty, wrong types) clearly."""

import numpy as np
import pytest
import torch

from defocus.metrics import create_metric, inner_q, list_metrics, lpips, omega, psnr, sharpness_q
from defocus.metrics.base import METRICS


def _args(name, *images):
    return images[: len(METRICS.get(name).inputs)]


def _good(shape=(1, 1, 32, 32), dtype=torch.float64, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("name", list_metrics())
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_pixels_raise(name, value):
    x, ref = _good(), _good(seed=1)
    bad = x.clone()
    bad[0, 0, 5, 7] = value
    metric = create_metric(name).double()
    with pytest.raises(ValueError, match="NaN or infinite"):
        metric(*_args(name, bad, ref, ref))
    if len(METRICS.get(name).inputs) > 1:
        with pytest.raises(ValueError, match="NaN or infinite"):
            metric(*_args(name, x, bad, bad))


def test_all_nan_omega_and_inner_q_raise():
    nan = torch.full((1, 1, 32, 32), float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        omega(nan, _good(dtype=torch.float32))
    with pytest.raises(ValueError, match="NaN"):
        inner_q(nan)


@pytest.mark.parametrize("name", list_metrics())
@pytest.mark.parametrize(
    "bad", [None, np.zeros((1, 1, 32, 32)), [[0.5]]], ids=["none", "numpy", "list"]
)
def test_non_tensors_raise_type_error(name, bad):
    metric = create_metric(name)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        metric(*_args(name, bad, _good(), _good()))


@pytest.mark.parametrize("name", list_metrics())
def test_empty_batch_raises_value_error(name):
    empty = torch.zeros(0, 1, 32, 32, dtype=torch.float64)
    metric = create_metric(name).double()
    with pytest.raises(ValueError, match="empty"):
        metric(*_args(name, empty, empty, empty))


def test_mixed_precision_pairs_are_refused_clearly():
    with pytest.raises(ValueError, match="dtypes differ"):
        lpips(_good((1, 3, 64, 64), torch.float32), _good((1, 3, 64, 64), torch.float64))
    with pytest.raises(ValueError, match="dtypes differ"):
        psnr(_good(dtype=torch.float32), _good())


@pytest.mark.parametrize("peak", [-1.0, 0.0, float("nan"), float("inf")])
def test_psnr_peak_must_be_positive_and_finite(peak):
    with pytest.raises(ValueError, match="peak"):
        psnr(_good(), _good(seed=1), peak=peak)


def test_integer_images_are_refused():
    with pytest.raises(ValueError, match="floating-point"):
        sharpness_q(torch.zeros(1, 1, 32, 32, dtype=torch.uint8))
