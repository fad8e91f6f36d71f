"""Run a network on images of any size by padding to a multiple and cropping back."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Pad the bottom and right of ``x`` so that both sides are multiples of ``multiple``.

    Reflect padding is used where possible (it avoids a hard edge that the network would
    try to "deblur"); when a side is too small for reflection (padding >= side length)
    replicate padding is used instead.

    Args:
        x: Images.
        multiple: Required divisor of height and width (>= 1).

    Returns:
        The padded images and the original height and width.

    Shape:
        - x: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, H', W')` with ``H' = ceil(H / multiple) * multiple``
          (likewise ``W'``).
    """
    height, width = x.shape[-2:]
    pad_h = -height % multiple
    pad_w = -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x, height, width
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode), height, width


def run_padded(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, multiple: int
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` padded to a multiple of ``multiple`` and crop the result back.

    Args:
        fn: A size-preserving network body that needs sides divisible by ``multiple``.
        x: Images of any size.
        multiple: Required divisor of height and width.

    Returns:
        ``fn`` applied to the padded images, cropped to the input size.

    Shape:
        - x: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, H, W)`.
    """
    padded, height, width = pad_to_multiple(x, multiple)
    return fn(padded)[..., :height, :width]
