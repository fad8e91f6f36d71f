"""Apply an image-to-image function on overlapping tiles and blend them without seams.

Along each axis the fewest tiles that overlap by at least ``overlap`` are spread evenly
(positions aligned to the network's ``multiple``); the last tile of a row or column is
shifted inward so that it ends exactly at the image border (no padding is added), so
every tile is real image content. Within each overlap the two
neighbouring tiles are cross-faded with a raised-cosine ramp spanning the whole
overlap, and the per-axis weights are normalised so that they sum to one at every
pixel. Because the grid is a Cartesian product of row and column spans, the 2-D weight
of a tile is the outer product of its row and column weights and its normalisation is
separable too: no weight image is accumulated, only the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from defocus.errors import DefocusError

Span = tuple[int, int]


def check_tile_settings(tile: int, overlap: int, multiple: int = 1) -> None:
    """Validate tile options before any work is done.

    Raises:
        DefocusError: If ``tile < 1``, ``overlap`` is outside ``[0, tile)`` or
            ``multiple < 1``.
    """
    if multiple < 1:
        raise DefocusError(f"tile multiple must be >= 1, got {multiple}")
    if tile < 1:
        raise DefocusError(f"tile size must be positive, got {tile}")
    if not 0 <= overlap < tile:
        raise DefocusError(f"tile overlap must be in [0, {tile - 1}], got {overlap}")


def tile_spans(length: int, tile: int, overlap: int, multiple: int = 1) -> list[Span]:
    """Start and end of the tiles covering ``[0, length)`` along one axis.

    Starts are multiples of ``multiple`` so that a network whose output depends on the
    alignment of its pooling grid (a U-Net pooling 4 times needs ``multiple = 16``) sees
    every tile aligned as in the whole image. Tiles have ``tile`` pixels (rounded up
    to a multiple, and to at least one multiple more than ``overlap``) and are spread
    evenly, as few as keep every overlap at least ``overlap``; the last one is shifted
    inward to end at ``length`` (no padding), so it may be up to ``multiple - 1``
    pixels longer. Every span is thus shorter than ``tile + 2 * multiple``.

    Args:
        length: Image side in pixels (>= 1).
        tile: Requested tile side in pixels.
        overlap: Minimum overlap between neighbouring tiles (``0 <= overlap < tile``).
        multiple: Alignment of tile starts and sizes.

    Returns:
        ``(start, end)`` pairs in increasing order; a single ``(0, length)`` span when
        the tile covers the whole side.

    Raises:
        DefocusError: If ``tile``, ``overlap`` or ``multiple`` are out of range.
    """
    check_tile_settings(tile, overlap, multiple)
    # Round the tile up to a multiple, leaving room for a step of at least one multiple.
    tile = max(-(-tile // multiple), -(-overlap // multiple) + 1) * multiple
    last = max(0, length - tile) // multiple  # last start, in units of ``multiple``
    if last == 0:
        return [(0, length)]
    step = (tile - overlap) // multiple * multiple
    gaps = -(-last * multiple // step)  # fewest equal-ish gaps no longer than ``step``
    starts = [round(k * last / gaps) * multiple for k in range(gaps + 1)]
    spans = [(start, start + tile) for start in starts[:-1]]
    spans.append((starts[-1], length))
    return spans


def _ramp(length: int) -> torch.Tensor:
    """Raised-cosine ramp rising from near 0 to near 1 over ``length`` samples (never 0)."""
    phase = (torch.arange(length, dtype=torch.float64) + 0.5) * (math.pi / length)
    return 0.5 - 0.5 * torch.cos(phase)


def axis_weights(spans: list[Span], length: int) -> list[torch.Tensor]:
    """Blending weights of each span, normalised to sum to one at every position.

    Each span ramps up over its overlap with the previous span and down over its
    overlap with the next one (complementary raised cosines, so a pair of neighbours
    sums to exactly one there); the weights are then divided by their sum, which also
    covers the rare case of three spans overlapping.

    Args:
        spans: Output of :func:`tile_spans`.
        length: Side length the spans cover.

    Returns:
        One float64 weight vector per span, of the span's length; all entries are > 0.
    """
    weights = []
    for index, (start, end) in enumerate(spans):
        weight = torch.ones(end - start, dtype=torch.float64)
        rise = spans[index - 1][1] - start if index > 0 else 0
        if rise > 0:
            weight[:rise] *= _ramp(rise)
        fall = end - spans[index + 1][0] if index < len(spans) - 1 else 0
        if fall > 0:
            weight[end - start - fall :] *= 1.0 - _ramp(fall)
        weights.append(weight)
    total = torch.zeros(length, dtype=torch.float64)
    for (start, end), weight in zip(spans, weights, strict=True):
        total[start:end] += weight
    return [weight / total[start:end] for (start, end), weight in zip(spans, weights, strict=True)]


def _tiles(
    height: int, width: int, tile: int, overlap: int, multiple: int
) -> Iterator[tuple[Span, Span, torch.Tensor]]:
    """Yield ``(row span, column span, 2-D weight)`` of every tile in raster order."""
    rows = tile_spans(height, tile, overlap, multiple)
    cols = tile_spans(width, tile, overlap, multiple)
    row_weights = axis_weights(rows, height)
    col_weights = axis_weights(cols, width)
    for row, row_weight in zip(rows, row_weights, strict=True):
        for col, col_weight in zip(cols, col_weights, strict=True):
            yield row, col, torch.outer(row_weight, col_weight)


def with_context(span: Span, context: int, length: int) -> Span:
    """``span`` widened by ``context`` pixels on each side, within ``[0, length)``."""
    return max(0, span[0] - context), min(length, span[1] + context)


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int | None,
    overlap: int = 32,
    multiple: int = 1,
    batch_size: int = 1,
    context: int = 0,
) -> torch.Tensor:
    """Apply a size-preserving image function tile by tile and blend the results.

    Memory is bounded by one output image plus ``batch_size`` tiles in flight: tiles
    are cut, processed and accumulated one group at a time. ``fn`` may change the
    number of channels, the dtype or the device (the output lives where ``fn``
    returns its tiles). With ``fn`` the identity the input is returned up to
    floating-point rounding.

    Args:
        fn: Function mapping ``(N, C, h, w)`` to ``(N, C', h, w)``; called on batches
            of tiles of equal size.
        x: Images.
        tile: Tile side in pixels, or ``None`` to run ``fn`` on the whole image.
        overlap: Minimum overlap of neighbouring tiles in pixels.
        multiple: Alignment of tile positions and sizes (the network's size multiple).
        batch_size: Number of equally sized tiles passed to ``fn`` at once.
        context: Extra pixels of image read around each tile (within the image), given
            to ``fn`` and cut off its output before blending: for functions whose output
            near a border depends on what lies beyond it (a network's receptive field).
            Rounded up to a multiple of ``multiple`` so that tiles stay aligned.

    Returns:
        The blended output.

    Shape:
        - x: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C', H, W)`.

    Raises:
        DefocusError: If the tile settings are out of range.
        ValueError: If ``x`` is not 4-D or ``fn`` changes the spatial size.
    """
    if x.ndim != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if batch_size < 1:
        raise DefocusError(f"batch size must be >= 1, got {batch_size}")
    if tile is None:
        return fn(x)
    batch, _, height, width = x.shape
    tiles = list(_tiles(height, width, tile, overlap, multiple))
    if len(tiles) == 1:
        return fn(x)
    context = -(-context // multiple) * multiple
    regions = [
        (with_context(row, context, height), with_context(col, context, width))
        for row, col, _ in tiles
    ]
    sizes = [(r1 - r0, c1 - c0) for (r0, r1), (c0, c1) in regions]
    out: torch.Tensor | None = None
    group: list[int] = []
    for index in range(len(regions)):
        group.append(index)
        last = index + 1 == len(regions)
        if not last and len(group) < batch_size and sizes[index + 1] == sizes[group[0]]:
            continue
        inputs = torch.cat([x[..., slice(*regions[k][0]), slice(*regions[k][1])] for k in group])
        outputs = fn(inputs)
        if outputs.shape[0] != inputs.shape[0] or outputs.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(
                f"fn must preserve batch and spatial size: {tuple(inputs.shape)} -> "
                f"{tuple(outputs.shape)}"
            )
        if out is None:
            out = outputs.new_zeros(batch, outputs.shape[1], height, width)
        for k, piece in zip(group, outputs.split(batch), strict=True):
            (r0, r1), (c0, c1), weight = tiles[k]
            (top, _), (left, _) = regions[k]
            piece = piece[..., r0 - top : r1 - top, c0 - left : c1 - left]
            weight = weight.to(device=piece.device, dtype=piece.dtype)
            out[..., r0:r1, c0:c1].addcmul_(piece, weight)
        group = []
    assert out is not None
    return out
