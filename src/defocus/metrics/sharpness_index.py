"""Normalised sharpness index J (the "S" column of the EUSIPCO 2025 table), a reconstruction.

The EUSIPCO 2025 paper describes J only in words: a sharpness measure normalised to
``[0, 1]`` that compares the restoration with the reference and the blurry input,
1 for a restoration identical to the reference and 0 for one identical to the
blurry input. It gives no formula. This module implements the reconstruction of
``../shared/spec/metrics.md`` §4, which has exactly those properties:

``J = clip(1 - |Q(Ĩ) - Q(I)| / |Q(I) - Q(B)|, 0, 1)``

with Q the Zhu-Milanfar sharpness on luma. Over-sharpening (``Q(Ĩ) > Q(I)``) lowers
J like under-sharpening does. When ``Q(I) = Q(B)`` (the reference is no sharper than
the blurry input) the ratio is undefined; J then takes the limit of the formula:
1 if ``Q(Ĩ) = Q(I)`` exactly, else 0.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from defocus.metrics.base import METRICS, Metric, check_images
from defocus.metrics.sharpness import check_q_args, sharpness_q


def sharpness_index_j(
    restored: torch.Tensor,
    reference: torch.Tensor,
    blurry: torch.Tensor,
    patch: int = 8,
    alpha: float = 0.001,
    variant: str = "zhu-milanfar",
) -> torch.Tensor:
    """Sharpness index ``J = clip(1 - |Q(Ĩ) - Q(I)| / |Q(I) - Q(B)|, 0, 1)`` (higher is better).

    See the module docstring for the provenance of the formula and the zero-denominator
    rule. Differentiable in ``restored`` (the gradient is zero where J is clipped).

    Args:
        restored: Restored images ``Ĩ`` in ``[0, 1]``.
        reference: Sharp references ``I``, same shape.
        blurry: Blurry inputs ``B``, same shape.
        patch: Patch size of Q.
        alpha: Significance level of Q's anisotropy test.
        variant: Variant of Q (see :func:`defocus.metrics.sharpness.sharpness_q`).

    Returns:
        J per image, in ``[0, 1]``.

    Shape:
        ``3 x (B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shapes or dtypes, images smaller than one patch.
    """
    check_images(restored, reference, blurry)
    q = sharpness_q(torch.cat((restored, reference, blurry)), patch, alpha, variant)
    q_res, q_ref, q_blur = q.chunk(3)
    deviation = (q_res - q_ref).abs()
    span = (q_ref - q_blur).abs()
    defined = span > 0
    ratio = deviation / torch.where(defined, span, torch.ones_like(span))
    return torch.where(defined, (1.0 - ratio).clamp(0.0, 1.0), (deviation == 0).to(q.dtype))


@METRICS.register("j")
class SharpnessIndexJ(Metric):
    """Module form of :func:`sharpness_index_j` (registry name ``"j"``, higher is better).

    Args:
        patch: Patch size of Q.
        alpha: Significance level of Q's anisotropy test.
        variant: Variant of Q.

    Shape:
        ``3 x (B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "j"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference", "blurry")

    def __init__(self, patch: int = 8, alpha: float = 0.001, variant: str = "zhu-milanfar") -> None:
        super().__init__()
        check_q_args(patch, alpha, variant)
        self.patch, self.alpha, self.variant = patch, alpha, variant

    def forward(
        self, restored: torch.Tensor, reference: torch.Tensor, blurry: torch.Tensor
    ) -> torch.Tensor:
        """J of each restored image given its reference and blurry input."""
        return sharpness_index_j(restored, reference, blurry, self.patch, self.alpha, self.variant)
