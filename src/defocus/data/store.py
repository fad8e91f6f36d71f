"""Decoded images kept compactly in memory, and crops taken from them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from defocus.degrade.blur import boundary_indices
from defocus.io import read_image


def _compact(pixels: torch.Tensor, bit_depth: int) -> np.ndarray:
    """Float ``(C, H, W)`` pixels of a ``bit_depth`` file as exact uint8/uint16 codes."""
    peak, dtype = (65535, np.uint16) if bit_depth == 16 else (255, np.uint8)
    return np.rint(pixels.numpy() * peak).astype(dtype)


class ImageStore:
    """Images of a dataset, decoded on first use and optionally cached.

    Cached images are held as their integer codes (uint8 or uint16, ``(C, H, W)``),
    a quarter or half of the memory of float32; images given as tensors are held as
    float32. Each DataLoader worker keeps its own cache.

    Args:
        sources: Image files, or float images ``(C, H, W)`` in ``[0, 1]``.
        cache: Keep decoded images in memory.
    """

    def __init__(self, sources: Sequence[Path | torch.Tensor], cache: bool = True) -> None:
        self.sources = list(sources)
        self.cache = cache
        self._arrays: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.sources)

    def name(self, index: int) -> str:
        """File name (or ``"image <index>"``) for messages."""
        source = self.sources[index]
        return str(source) if isinstance(source, Path) else f"image {index}"

    def array(self, index: int) -> np.ndarray:
        """The image as ``(C, H, W)`` uint8, uint16 or float32 codes."""
        cached = self._arrays.get(index)
        if cached is not None:
            return cached
        source = self.sources[index]
        if isinstance(source, torch.Tensor):
            arr = source.detach().cpu().float().numpy()
        else:
            image = read_image(source)
            arr = _compact(image.pixels, image.bit_depth)
        if self.cache:
            self._arrays[index] = arr
        return arr

    def size(self, index: int) -> tuple[int, int]:
        """``(height, width)`` of an image."""
        shape = self.array(index).shape
        return int(shape[1]), int(shape[2])


def to_float(arr: np.ndarray) -> torch.Tensor:
    """Integer codes (or floats) to a float32 tensor in ``[0, 1]``."""
    t = torch.from_numpy(np.ascontiguousarray(arr))
    if arr.dtype == np.uint8:
        return t.float().div_(255.0)
    if arr.dtype == np.uint16:
        return t.float().div_(65535.0)
    return t.to(torch.float32, copy=True)  # never hand out a view of the cache


def take_region(arr: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Rows ``top..top+height`` and columns ``left..left+width`` of a ``(C, H, W)`` array.

    Positions outside the image read its reflect-101 extension, exactly as
    ``blur(..., padding="reflect")`` extends the full image; a region inside the image
    is a cheap slice.

    Shape:
        ``(C, H, W) -> (C, height, width)``.
    """
    _, rows, cols = arr.shape
    if top >= 0 and left >= 0 and top + height <= rows and left + width <= cols:
        return arr[:, top : top + height, left : left + width]
    r = boundary_indices(torch.arange(top, top + height), rows, "reflect").numpy()
    c = boundary_indices(torch.arange(left, left + width), cols, "reflect").numpy()
    return arr[:, r[:, None], c[None, :]]


def dihedral(x: torch.Tensor, code: int) -> torch.Tensor:
    """One of the 8 flips/rotations of the square: ``code & 3`` quarter turns, then a
    horizontal flip if ``code & 4``.

    Shape:
        ``(..., H, W) -> (..., H, W)`` or ``(..., W, H)`` for odd quarter turns.
    """  # noqa: D205
    if code & 3:
        x = torch.rot90(x, code & 3, dims=(-2, -1))
    if code & 4:
        x = x.flip(-1)
    return x
