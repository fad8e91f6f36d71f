import itertools

import pytest
import torch

from defocus.errors import DefocusError
from defocus.runtime.tiling import axis_weights, tile_spans, tiled_apply


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [
        (100, 64, 16, 1),
        (225, 100, 40, 1),
        (161, 100, 40, 1),
        (517, 128, 32, 16),
        (6000, 512, 32, 16),
        (33, 16, 0, 16),
        (97, 32, 31, 1),
        (33, 32, 8, 2),
    ],
)
def test_spans_cover_align_and_overlap(length, tile, overlap, multiple):
    spans = tile_spans(length, tile, overlap, multiple)
    assert spans[0][0] == 0
    assert spans[-1][1] == length
    for start, end in spans:
        assert start % multiple == 0
        assert 0 <= start < end <= length
        assert end - start >= min(tile, length)
        assert end - start < tile + 2 * multiple  # bounded memory
    for (s0, e0), (s1, _) in itertools.pairwise(spans):
        assert s0 < s1 <= e0  # ordered, no gap
        assert e0 - s1 >= overlap


def test_single_span_when_tile_covers_side():
    assert tile_spans(50, 64, 8, 16) == [(0, 50)]


def test_axis_weights_positive_and_sum_to_one():
    for length, tile, overlap in [(225, 100, 40), (161, 100, 40), (517, 128, 32), (300, 64, 0)]:
        spans = tile_spans(length, tile, overlap)
        weights = axis_weights(spans, length)
        total = torch.zeros(length, dtype=torch.float64)
        for (start, end), weight in zip(spans, weights, strict=True):
            assert weight.shape == (end - start,)
            assert bool((weight > 0).all())
            total[start:end] += weight
        torch.testing.assert_close(total, torch.ones(length, dtype=torch.float64))


@pytest.mark.parametrize(
    ("tile", "overlap", "multiple", "batch_size"),
    [(32, 8, 1, 1), (64, 16, 16, 3), (100, 40, 1, 4), (17, 5, 1, 2), (16, 0, 16, 1)],
)
def test_identity_returns_input(tile, overlap, multiple, batch_size):
    x = torch.rand(2, 3, 101, 257, generator=torch.Generator().manual_seed(0))
    calls = []

    def identity(t):
        calls.append(t.shape)
        return t

    y = tiled_apply(identity, x, tile, overlap, multiple, batch_size)
    assert y.shape == x.shape
    assert (y - x).abs().max().item() <= 1e-6
    assert len(calls) > 1
    assert max(shape[0] for shape in calls) <= 2 * batch_size  # never all tiles at once
    assert max(shape[-1] for shape in calls) < tile + 2 * multiple


def test_pointwise_function_is_exact_and_may_change_channels():
    x = torch.rand(1, 3, 70, 90, generator=torch.Generator().manual_seed(1))
    y = tiled_apply(lambda t: (t * 2 - 1).sum(dim=1, keepdim=True), x, 32, 8)
    torch.testing.assert_close(y, (x * 2 - 1).sum(dim=1, keepdim=True), atol=1e-6, rtol=0)


def test_none_or_large_tile_runs_whole_image():
    x = torch.rand(1, 1, 40, 30)
    shapes = []
    tiled_apply(lambda t: shapes.append(t.shape) or t, x, None)
    tiled_apply(lambda t: shapes.append(t.shape) or t, x, 64)
    assert shapes == [x.shape, x.shape]


def test_bad_settings_are_user_errors():
    x = torch.rand(1, 1, 40, 30)
    with pytest.raises(DefocusError, match="overlap"):
        tiled_apply(lambda t: t, x, 16, 16)
    with pytest.raises(DefocusError, match="tile size"):
        tiled_apply(lambda t: t, x, 0, 0)
    with pytest.raises(ValueError, match="spatial"):
        tiled_apply(lambda t: t[..., :-1], x, 16, 4)
