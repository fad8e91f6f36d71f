"""Convert numpy arrays, PIL images and tensors to float colour tensors and back.

Each ``unpack_*`` function returns the colour channels as a float32 ``(B, c, H, W)``
tensor in ``[0, 1]`` (``c`` = 1 or 3) plus a function that rebuilds an object of the
input's kind, dtype and shape from restored colour channels (array and PIL repackers
clip them to ``[0, 1]`` in place, to save memory on large images). Alpha is never converted: the
rebuilt object carries the input's alpha values unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from defocus.errors import DefocusError

Repack = Callable[[torch.Tensor], Any]

_PEAKS = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_PIL_DIRECT = {"L", "LA", "RGB", "RGBA", "I;16", "I", "F"}


def _colour_channels(channels: int) -> int:
    """Colour channels among ``channels`` (the rest is alpha): 1/2 → 1, 3/4 → 3."""
    return 1 if channels in (1, 2) else 3


def unpack_array(array: np.ndarray) -> tuple[torch.Tensor, Repack]:
    """Split an ``(H, W)`` or ``(H, W, C)`` array (C = 1..4, alpha last) into colour and repacker.

    ``uint8`` and ``uint16`` are scaled by 255 and 65535; floating arrays are taken to
    be in ``[0, 1]``. The repacker returns an array of the same dtype and shape whose
    colour values are rounded (integers) or clipped to ``[0, 1]`` (floats).

    Shape:
        Returned tensor: :math:`(1, c, H, W)`.

    Raises:
        DefocusError: For other dtypes or shapes.
    """
    peak = _PEAKS.get(array.dtype)
    if peak is None and not np.issubdtype(array.dtype, np.floating):
        raise DefocusError(
            f"unsupported array dtype {array.dtype} (use uint8, uint16 or floats in [0, 1])"
        )
    if not (array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)):
        raise DefocusError(
            f"expected an (H, W) or (H, W, C) image array with C in 1..4, got shape {array.shape}"
        )
    hwc = array if array.ndim == 3 else array[..., None]
    colour_channels = _colour_channels(hwc.shape[2])
    pixels = torch.from_numpy(np.ascontiguousarray(hwc[..., :colour_channels]))
    colour = torch.empty((1, colour_channels, *hwc.shape[:2]), dtype=torch.float32)
    colour[0].copy_(pixels.permute(2, 0, 1))  # one float copy, never aliasing the input
    if peak is not None:
        colour /= peak

    def repack(restored: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():  # ``restored`` may be an inference tensor
            values = restored[0].clamp_(0, 1)
            if peak is not None:
                values = values.mul_(peak).round_()
        values = values.permute(1, 2, 0).numpy().astype(array.dtype)
        if array.ndim == 2:
            return values[..., 0]
        result = array.copy()
        result[..., :colour_channels] = values
        return result

    return colour, repack


def unpack_pil(image: Image.Image) -> tuple[torch.Tensor, Repack]:
    """Split a PIL image into colour and a repacker returning a PIL image of the same mode.

    Modes ``L``, ``LA``, ``RGB``, ``RGBA`` (8-bit), ``I;16`` (16-bit; ``I;16B`` and
    ``I;16L`` come back as ``I;16``), ``I`` (values 0..65535) and ``F`` (floats in
    ``[0, 1]``) round-trip; other modes (palette, CMYK, ``1``, ...) are converted to
    ``RGB``/``RGBA``/``L`` first and come back in that mode.

    Shape:
        Returned tensor: :math:`(1, c, H, W)`.
    """
    mode = image.mode
    if mode.startswith("I;16"):
        mode = "I;16"
    elif mode not in _PIL_DIRECT:
        has_alpha = "A" in mode or "transparency" in image.info
        mode = "RGBA" if has_alpha else ("L" if mode == "1" else "RGB")
    converted = image if mode == image.mode else image.convert(mode)
    array = np.array(converted)  # a writable copy (PIL buffers are read-only)
    if mode == "I;16":
        array = array.astype(np.uint16)
    elif mode == "I":
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise DefocusError("PIL mode 'I' images must hold values in 0..65535")
        array = array.astype(np.uint16)
    colour, repack_array = unpack_array(array)

    def repack(restored: torch.Tensor) -> Image.Image:
        result = repack_array(restored)
        if mode == "I":
            result = result.astype(np.int32)
        return Image.fromarray(result)

    return colour, repack


def unpack_tensor(tensor: torch.Tensor) -> tuple[torch.Tensor, Repack]:
    """Split a float ``(C, H, W)`` or ``(B, C, H, W)`` tensor (C = 1..4, alpha last).

    Colour stays on the tensor's device (as float32); the repacker returns a tensor
    of the input's shape, dtype and device with colour clipped to ``[0, 1]``.

    Shape:
        Returned tensor: :math:`(B, c, H, W)`.

    Raises:
        DefocusError: For non-floating tensors or other shapes.
    """
    if not tensor.is_floating_point():
        raise DefocusError(f"expected a floating-point image tensor in [0, 1], got {tensor.dtype}")
    if tensor.ndim not in (3, 4) or not 1 <= tensor.shape[-3] <= 4:
        raise DefocusError(
            f"expected a (C, H, W) or (B, C, H, W) tensor with C in 1..4, got {tuple(tensor.shape)}"
        )
    batch = tensor.detach() if tensor.ndim == 4 else tensor.detach()[None]
    colour_channels = _colour_channels(batch.shape[1])
    colour = batch[:, :colour_channels].to(torch.float32)

    def repack(restored: torch.Tensor) -> torch.Tensor:
        result = batch.clone()
        result[:, :colour_channels] = restored.clamp(0, 1)  # may alias the caller's tensor
        return result if tensor.ndim == 4 else result[0]

    return colour, repack


def unpack_image(image: np.ndarray | Image.Image | torch.Tensor) -> tuple[torch.Tensor, Repack]:
    """Dispatch to :func:`unpack_array`, :func:`unpack_pil` or :func:`unpack_tensor`.

    Raises:
        DefocusError: For any other kind of object, an empty image or non-finite values.
    """
    if isinstance(image, torch.Tensor):
        colour, repack = unpack_tensor(image)
    elif isinstance(image, np.ndarray):
        colour, repack = unpack_array(image)
    elif isinstance(image, Image.Image):
        colour, repack = unpack_pil(image)
    else:
        raise DefocusError(
            f"cannot deblur a {type(image).__name__}: pass a numpy array, a PIL image or a tensor"
        )
    if colour.numel() == 0:
        raise DefocusError(f"cannot deblur an empty image (shape {tuple(colour.shape)})")
    if not bool(torch.isfinite(colour).all()):
        raise DefocusError("image contains NaN or infinite values")
    return colour, repack
