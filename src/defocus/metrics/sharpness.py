"""No-reference sharpness metric Q (Zhu & Milanfar 2010) and its MMSP 2024 training variant."""

from __future__ import annotations

from typing import ClassVar

import torch

from defocus.color import to_luma
from defocus.metrics.base import METRICS, Metric, check_images
from defocus.metrics.structure import (
    check_patch_args,
    eigenvalues,
    qsharpnet_threshold,
    singular_values,
    structure_tensor,
    zhu_milanfar_threshold,
)

VARIANTS = ("zhu-milanfar", "qsharpnet")


def check_q_args(patch: int, alpha: float, variant: str) -> None:
    """Validate the arguments of Q.

    Raises:
        ValueError: Naming the bad argument.
    """
    check_patch_args(patch, alpha)
    if variant not in VARIANTS:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown sharpness variant {variant!r} (known: {known})")


def sharpness_q_map(
    y: torch.Tensor, patch: int = 8, alpha: float = 0.001, variant: str = "zhu-milanfar"
) -> torch.Tensor:
    """Contribution of every patch to Q (0 for isotropic patches).

    Args:
        y: Grey images (luma).
        patch: Patch size ``N``.
        alpha: Significance level ``a`` of the anisotropy test.
        variant: ``"zhu-milanfar"`` (singular values, ``numpy.gradient`` differences)
            or ``"qsharpnet"`` (eigenvalues, Sobel / 8, the MMSP 2024 training code).

    Returns:
        ``s1·R`` (or ``λ1·R``) of each anisotropic patch, 0 elsewhere.

    Shape:
        ``(..., H, W) -> (..., H // N, W // N)``.
    """
    check_q_args(patch, alpha, variant)
    if variant == "zhu-milanfar":
        lam1, lam2, _ = eigenvalues(*structure_tensor(y, patch, "gradient"))
        s1, _, coherence = singular_values(lam1, lam2)
        selected = coherence > zhu_milanfar_threshold(patch, alpha)
        return torch.where(selected, s1 * coherence, 0.0)
    a, b, c = structure_tensor(y, patch, "sobel")
    lam1, _, gap = eigenvalues(a, b, c)
    coherence = gap / (a + c + 1e-10)
    selected = coherence > qsharpnet_threshold(patch, alpha)
    return torch.where(selected, lam1 * coherence, 0.0)


def sharpness_q(
    x: torch.Tensor, patch: int = 8, alpha: float = 0.001, variant: str = "zhu-milanfar"
) -> torch.Tensor:
    """Sharpness metric Q of each image (higher is sharper), computed on BT.601 luma.

    The image is cut into non-overlapping ``patch x patch`` tiles (an incomplete
    border row/column of tiles is dropped). Variant ``"zhu-milanfar"``: gradients
    inside each tile as ``numpy.gradient``, singular values ``s1 >= s2`` of
    ``G = [gx gy]``, coherence ``R = (s1 - s2)/(s1 + s2)``; a tile counts with
    ``s1·R`` when ``R > τ = sqrt((1 - a^(1/(N²-1)))/(1 + a^(1/(N²-1))))``, else 0.
    Variant ``"qsharpnet"``: Sobel / 8 with reflect padding inside the tile,
    eigenvalues ``λ1 >= λ2`` of ``GᵀG``, ``R = (λ1 - λ2)/(λ1 + λ2 + 1e-10)``, value
    ``λ1·R`` when ``R > τ' = sqrt((1 - a^(1/(N²-1)))/2)``. Q is the mean over all tiles.

    Differentiable, with finite gradients on any input (flat or one-dimensional
    tiles get a zero gradient where the exact derivative does not exist).

    Args:
        x: Image batch in ``[0, 1]``, 1 (grey) or 3 (RGB) channels, any float dtype.
        patch: Tile size ``N`` (>= 2).
        alpha: Significance level ``a`` of the anisotropy test.
        variant: ``"zhu-milanfar"`` or ``"qsharpnet"``.

    Returns:
        Q per image, in the input's dtype and device.

    Shape:
        ``(B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shape or dtype, image smaller than one tile, bad arguments.
    """
    check_images(x)
    return sharpness_q_map(to_luma(x).squeeze(1), patch, alpha, variant).mean(dim=(-2, -1))


@METRICS.register("q")
class SharpnessQ(Metric):
    """Module form of :func:`sharpness_q` (registry name ``"q"``, higher is better).

    Args:
        patch: Tile size ``N``.
        alpha: Significance level of the anisotropy test.
        variant: ``"zhu-milanfar"`` or ``"qsharpnet"``.

    Shape:
        ``(B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "q"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored",)

    def __init__(self, patch: int = 8, alpha: float = 0.001, variant: str = "zhu-milanfar") -> None:
        super().__init__()
        check_q_args(patch, alpha, variant)
        self.patch, self.alpha, self.variant = patch, alpha, variant

    def forward(self, restored: torch.Tensor) -> torch.Tensor:
        """Q of each restored image."""
        return sharpness_q(restored, self.patch, self.alpha, self.variant)
