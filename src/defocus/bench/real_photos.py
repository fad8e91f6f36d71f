"""Scores of a restoration of a real photo without ground truth, given its defocus mask.

A real out-of-focus photo has no sharp reference, but a defocus mask (white = out of
focus, the CUHK convention, :mod:`defocus.data.masks`) says where a deblurrer should
act and where it should leave the photo alone. On the luma of input and output:

- ``q_gain_defocused``: the sharpness Q (:func:`defocus.metrics.sharpness_q_map`,
  8x8 patches) summed over the patches that lie wholly in the defocused region, output
  over input (> 1: sharper);
- ``q_gain_in_focus``: the same over the patches wholly in focus (≈ 1: untouched);
- ``psnr_in_focus``: PSNR of the output against the input over the in-focus pixels
  (high: untouched);
- ``changed``: whether the output differs from the input at all, i.e. its PSNR
  against the input over the whole photo is below :data:`UNCHANGED_PSNR`.

Where only parts of a photo are labelled (:class:`defocus.data.masks.LabelledPhoto`),
the region scores use the labelled pixels alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from defocus.color import to_luma
from defocus.metrics.sharpness import sharpness_q_map

PATCH = 8
"""Patch side of Q."""
UNCHANGED_PSNR = 50.0
"""PSNR (dB) against the input above which an output counts as unchanged (about a
quarter of an 8-bit level of RMS difference)."""


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.numel() == 0:
        return math.nan
    mse = float((a - b).square().mean())
    return math.inf if mse == 0 else -10 * math.log10(mse)


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> float:
    total = float(denominator.sum())
    return float(numerator.sum()) / total if total > 0 else math.nan


def real_photo_scores(
    blurry: torch.Tensor,
    restored: torch.Tensor,
    mask: torch.Tensor,
    known: torch.Tensor | None = None,
) -> dict[str, float | bool]:
    """Scores of one restored real photo against its input (see the module docstring).

    Args:
        blurry: The photo, grey or RGB in ``[0, 1]``.
        restored: The restoration, same shape.
        mask: Defocus mask in ``[0, 1]`` (1 = out of focus), the photo's size.
        known: 1 where the mask is known, 0 where the photo is unlabelled (default:
            known everywhere).

    Returns:
        ``q_gain_defocused``, ``q_gain_in_focus``, ``psnr_in_focus`` (NaN where a
        region is empty) and ``changed``.

    Shape:
        ``blurry``, ``restored``: ``(1, C, H, W)``; ``mask``, ``known``: ``(1, 1, H, W)``.
    """
    known = torch.ones_like(mask) if known is None else known
    if (
        blurry.shape != restored.shape
        or mask.shape[-2:] != blurry.shape[-2:]
        or known.shape != mask.shape
    ):
        raise ValueError(
            f"shapes differ: {tuple(blurry.shape)}, {tuple(restored.shape)}, "
            f"{tuple(mask.shape)}, {tuple(known.shape)}"
        )
    y_in, y_out = to_luma(blurry.float())[0, 0], to_luma(restored.float())[0, 0]
    q_in, q_out = sharpness_q_map(y_in, PATCH), sharpness_q_map(y_out, PATCH)
    rows, cols = q_in.shape
    regions = torch.cat([mask * known, (1 - mask) * known]).float()
    cover = F.avg_pool2d(regions[..., : rows * PATCH, : cols * PATCH], PATCH)[:, 0]
    defocused, in_focus = cover[0] >= 1 - 1e-6, cover[1] >= 1 - 1e-6
    sharp_pixels = (mask.float()[0, 0] < 0.5) & (known[0, 0] >= 0.5)
    return {
        "q_gain_defocused": _ratio(q_out[defocused], q_in[defocused]),
        "q_gain_in_focus": _ratio(q_out[in_focus], q_in[in_focus]),
        "psnr_in_focus": _psnr(y_out[sharp_pixels], y_in[sharp_pixels]),
        "changed": _psnr(restored.float(), blurry.float()) < UNCHANGED_PSNR,
    }
