"""Property-based: metrics give one finite value per image, or raise ValueError/TypeError.

Random shapes (empty batches, 1-pixel images, grey/RGB), dtypes (floats and integers)
and NaN/Inf injection; never a finite score from non-finite input.
"""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from defocus.metrics import create_metric, list_metrics
from defocus.metrics.base import METRICS

DTYPES = [torch.float32, torch.float64, torch.uint8, torch.int64, torch.float16]
CHEAP = [name for name in list_metrics() if name != "lpips"]


@st.composite
def batches(draw, max_side=40):
    batch = draw(st.integers(0, 2))
    channels = draw(st.sampled_from([1, 3]))
    height, width = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    dtype = draw(st.sampled_from(DTYPES))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    images = []
    for _ in range(3):
        x = torch.rand(batch, channels, height, width, generator=generator, dtype=torch.float64)
        images.append(x.to(dtype) if dtype.is_floating_point else (x * 255).to(dtype))
    poison = draw(st.sampled_from([None, math.nan, math.inf, -math.inf]))
    target = draw(st.integers(0, 2))
    if poison is not None and dtype.is_floating_point and images[target].numel():
        flat = images[target].view(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = poison
    else:
        poison = None
    return images, poison, target


def _check(name, sample):
    images, poison, target = sample
    metric = create_metric(name)
    inputs = images[: len(METRICS.get(name).inputs)]
    if images[0].dtype.is_floating_point:
        metric = metric.to(images[0].dtype)
    try:
        with torch.no_grad():
            value = metric(*inputs)
    except (ValueError, TypeError):
        return
    assert poison is None or target >= len(inputs), f"{name} scored non-finite input: {value}"
    assert value.shape == (images[0].shape[0],)
    assert not value.isnan().any()


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(CHEAP), batches())
def test_metrics_return_one_value_per_image_or_raise_value_or_type_error(name, sample):
    _check(name, sample)


@settings(max_examples=15, deadline=None)
@given(batches(max_side=48))
def test_lpips_returns_one_value_per_image_or_raises_value_or_type_error(sample):
    _check("lpips", sample)
