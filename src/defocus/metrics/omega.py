"""Ringing-aware full-reference metric Ω (EUSIPCO 2025) and its inner sharpness Qin.

Ω mixes a clipped patch PSNR (decibels) with the dimensionless inner Q, as its
authors define it; they state the consequence themselves: the range of Ω depends on
the content. A restoration identical to the reference scores
``(1 - σ(0))·50 + σ(0)·Qin ≈ 0.12 + Qin`` per patch (0.21 on the calibration crop),
whereas a strongly sharpened one with ringing scores 10 or more, because patches
whose Q deviates from the reference are scored by their PSNR. Ω is reported as
higher-is-better, following the paper ("a metric which increases with sharpness,
but decreases with ringing"); compare Ω values only between restorations of the
same reference image.

Precision: Ω decides anisotropy on 2x2 sub-patches, where rounding matters; it is
computed in the input's dtype and float16/bfloat16 inputs give visibly different
values (about 10 % off on the calibration images): pass float32 or float64.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from defocus.color import to_luma
from defocus.metrics.base import METRICS, Metric, check_images
from defocus.metrics.structure import (
    check_patch_args,
    eigenvalues,
    singular_values,
    structure_tensor,
    tile,
    zhu_milanfar_threshold,
)

OMEGA_CAVEAT = (
    "Ω mixes decibels with a dimensionless sharpness (its authors' caveat): its range "
    "depends on the image content, and a ringing restoration can outscore a faithful "
    "one. Compare Ω only between methods on the same images; Ω-n is the project's "
    "scale-free variant in [0, 1] (docs/metrics.md)."
)
"""The warning printed wherever Ω is shown (demo, score, evaluate)."""
OMEGA_N_CONTRAST = 0.01
"""Contrast floor of Ω-n's fidelity term: a standard deviation (data range 1, about 2.5
levels of 8 bits) below which a patch counts as flat."""


def inner_q_map(y: torch.Tensor, patch: int = 2, alpha: float = 0.001) -> torch.Tensor:
    """Contribution of every ``patch x patch`` sub-patch to the inner Q.

    Gradients inside each sub-patch as ``numpy.gradient``; a sub-patch is anisotropic
    when ``(λ1 - λ2)/(λ1 + λ2) > τ(a, N)`` on the eigenvalues of ``GᵀG``; its value
    is then ``s1·(s1 - s2)/(s1 + s2)`` with ``s = sqrt(λ)``, else 0.

    Shape:
        ``(..., H, W) -> (..., H // N, W // N)``.
    """
    check_patch_args(patch, alpha)
    a, b, c = structure_tensor(y, patch, "gradient")
    lam1, lam2, gap = eigenvalues(a, b, c)
    trace = a + c
    live = trace > 0
    ratio = torch.where(live, gap / torch.where(live, trace, torch.ones_like(trace)), 0.0)
    s1, _, coherence = singular_values(lam1, lam2)
    return torch.where(ratio > zhu_milanfar_threshold(patch, alpha), s1 * coherence, 0.0)


def inner_q(x: torch.Tensor, patch: int = 2, alpha: float = 0.001) -> torch.Tensor:
    """Inner Q of the Ω reference code over the whole image, on BT.601 luma.

    The mean of :func:`inner_q_map` over all ``patch x patch`` sub-patches (an
    incomplete border row/column is dropped). Ω applies it to each of its patches.

    Args:
        x: Image batch in ``[0, 1]``, 1 or 3 channels.
        patch: Sub-patch size (2 in the Ω code).
        alpha: Significance level of the anisotropy test.

    Returns:
        Qin per image.

    Shape:
        ``(B, C, H, W) -> (B,)``.
    """
    check_images(x)
    return inner_q_map(to_luma(x).squeeze(1), patch, alpha).mean(dim=(-2, -1))


def _patch_inner_q(tiles: torch.Tensor, inner_patch: int, alpha: float) -> torch.Tensor:
    """Qin of every patch of a tile view, its sub-patches starting at its own top-left.

    Sub-patch rows/columns that do not fit in a patch are dropped; the remaining
    sub-patches of all patches are then processed as one image (a view, no copy,
    when the patch size is a multiple of the sub-patch size).

    Shape:
        ``(B, nH, m, nW, m) -> (B, nH, nW)``.
    """
    batch, rows, m, cols, _ = tiles.shape
    per_side = m // inner_patch
    used = per_side * inner_patch
    kept = tiles[:, :, :used, :, :used].reshape(batch, rows * used, cols * used)
    values = inner_q_map(kept, inner_patch, alpha)
    return values.view(batch, rows, per_side, cols, per_side).mean(dim=(2, 4))


def _patch_psnr(reference: torch.Tensor, restored: torch.Tensor, clip: float) -> torch.Tensor:
    """``min(PSNR, clip)`` of tile pairs with peak 1; identical tiles give ``clip``.

    Shape:
        ``(..., nH, m, nW, m) -> (..., nH, nW)``.
    """
    mse = ((reference - restored) ** 2).mean(dim=(-3, -1))
    above = mse > 10.0 ** (-clip / 10.0)
    safe = torch.where(above, mse, torch.ones_like(mse))
    return torch.where(above, -10.0 * torch.log10(safe), clip)


def _patch_weights(
    restored: torch.Tensor,
    reference: torch.Tensor,
    patch: int,
    r: float,
    alpha0: float,
    inner_patch: int,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The patch logic Ω and Ω-n share, on BT.601 luma.

    Returns:
        The restored and reference tile views ``(B, nH, m, nW, m)``, the inner Q of
        each restored and reference patch and the weight σ of each patch
        ``(B, nH, nW)`` (0 where the reference patch's Q is 0).
    """
    check_images(restored, reference)
    check_patch_args(patch, alpha)
    if inner_patch > patch:
        raise ValueError(f"inner patch {inner_patch} is larger than the patch {patch}")
    res_tiles = tile(to_luma(restored).squeeze(1), patch)
    ref_tiles = tile(to_luma(reference).squeeze(1), patch)
    q_res = _patch_inner_q(res_tiles, inner_patch, alpha)
    q_ref = _patch_inner_q(ref_tiles, inner_patch, alpha)
    live = q_ref > 0
    deviation = (q_res - q_ref).abs() / torch.where(live, q_ref, torch.ones_like(q_ref))
    weight = torch.where(live, torch.sigmoid(-r * (deviation - alpha0)), 0.0)
    return res_tiles, ref_tiles, q_res, q_ref, weight


def omega(
    restored: torch.Tensor,
    reference: torch.Tensor,
    patch: int = 16,
    r: float = 5.0,
    alpha0: float = 1.2,
    psnr_clip: float = 50.0,
    inner_patch: int = 2,
    alpha: float = 0.001,
) -> torch.Tensor:
    """Ringing-aware metric Ω of each restored image against its reference.

    Both images are cut into ``m x m`` patches (``m = patch``; incomplete border
    patches dropped). For each pair, ``Q = Qin(reference patch)``,
    ``Q̃ = Qin(restored patch)``, deviation ``α = |Q̃ - Q| / Q``, weight
    ``σ = 1 / (1 + exp(r·(α - α0)))`` (0 where ``Q = 0``), ``P' = min(PSNR, psnr_clip)``
    (peak 1) and patch score ``(1 - σ)·P' + σ·Q̃``. Ω is the mean patch score.
    Computed on BT.601 luma. See the module docstring for the range caveat.

    Args:
        restored: Restored images in ``[0, 1]``.
        reference: Reference (ground-truth) images, same shape.
        patch: Patch size ``m``.
        r: Steepness ``R`` of the logistic weight.
        alpha0: Deviation ``α0`` at which the weight is 1/2.
        psnr_clip: Upper clip of the patch PSNR in dB.
        inner_patch: Sub-patch size of the inner Q.
        alpha: Significance level of the inner anisotropy test.

    Returns:
        Ω per image.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shapes or dtypes, images smaller than one patch, bad arguments.
    """
    res_tiles, ref_tiles, q_res, _, weight = _patch_weights(
        restored, reference, patch, r, alpha0, inner_patch, alpha
    )
    psnr = _patch_psnr(ref_tiles, res_tiles, psnr_clip)
    return ((1.0 - weight) * psnr + weight * q_res).mean(dim=(-2, -1))


def omega_n(
    restored: torch.Tensor,
    reference: torch.Tensor,
    patch: int = 16,
    r: float = 5.0,
    alpha0: float = 1.2,
    inner_patch: int = 2,
    alpha: float = 0.001,
    contrast: float = OMEGA_N_CONTRAST,
) -> torch.Tensor:
    """Ω-n, the project's scale-free variant of Ω: in ``[0, 1]``, higher is better.

    The same patches, inner Q and weight σ as :func:`omega`; each of Ω's two patch
    terms is replaced by a dimensionless one in ``[0, 1]``:

    - fidelity ``F = 1 - min(1, RMSE / sqrt(var + c²))`` instead of the patch PSNR
      in dB: the error relative to the reference patch's own contrast (its variance
      ``var``; the floor ``c`` keeps flat patches finite), so 1 for an exact patch and
      0 once the error is as large as the patch's detail (ringing). Unlike PSNR it
      does not depend on the data's peak or offset;
    - sharpness ``S = Q̃ / (Q̃ + Q)`` instead of ``Q̃``: 1/2 when the restored patch is
      as sharp as the reference, towards 0 when blurrier, towards 1 when sharper; a
      patch earns it only as far as it is faithful: ``min(S, F)``.

    Patch score ``(1 - σ)·F + σ·min(S, F)``; Ω-n is the mean over patches. A
    restoration identical to the reference scores about 1/2 on detailed patches (1 on
    flat ones, where ``Q = 0`` and the score is ``F``); mild sharpening scores higher,
    ringing lower, and blur lower. See ``docs/metrics.md``.

    Args:
        restored: Restored images in ``[0, 1]``.
        reference: Reference images, same shape.
        patch: Patch size ``m``.
        r: Steepness of the logistic weight.
        alpha0: Deviation at which the weight is 1/2.
        inner_patch: Sub-patch size of the inner Q.
        alpha: Significance level of the inner anisotropy test.
        contrast: The contrast floor ``c``: a standard deviation (data range 1).

    Returns:
        Ω-n per image.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.

    Raises:
        ValueError: Bad shapes or dtypes, images smaller than one patch, bad arguments.
    """
    if not contrast > 0:
        raise ValueError(f"contrast must be positive, got {contrast}")
    res_tiles, ref_tiles, q_res, q_ref, weight = _patch_weights(
        restored, reference, patch, r, alpha0, inner_patch, alpha
    )
    mse = (res_tiles - ref_tiles).square().mean(dim=(-3, -1))
    variance = ref_tiles.var(dim=(-3, -1), unbiased=False)
    ratio = mse / (variance + contrast**2)
    error = ratio > 0  # sqrt has no finite gradient at 0: exact patches get 0 directly
    relative = torch.where(error, torch.where(error, ratio, 1.0).sqrt(), 0.0)
    fidelity = 1.0 - relative.clamp(max=1.0)
    total = q_res + q_ref
    sharpness = torch.where(total > 0, q_res / torch.where(total > 0, total, 1.0), 0.0)
    earned = torch.minimum(sharpness, fidelity)
    return ((1.0 - weight) * fidelity + weight * earned).mean(dim=(-2, -1))


@METRICS.register("omega")
class Omega(Metric):
    """Module form of :func:`omega` (registry name ``"omega"``, higher is better).

    Ω's range depends on the image content (see the module docstring): compare
    values only between restorations of the same reference.

    Args:
        patch: Patch size ``m``.
        r: Steepness of the logistic weight.
        alpha0: Deviation at which the weight is 1/2.
        psnr_clip: Upper clip of the patch PSNR in dB.
        inner_patch: Sub-patch size of the inner Q.
        alpha: Significance level of the inner anisotropy test.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "omega"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def __init__(
        self,
        patch: int = 16,
        r: float = 5.0,
        alpha0: float = 1.2,
        psnr_clip: float = 50.0,
        inner_patch: int = 2,
        alpha: float = 0.001,
    ) -> None:
        super().__init__()
        check_patch_args(patch, alpha)
        check_patch_args(inner_patch, alpha)
        self.options = {"patch": patch, "r": r, "alpha0": alpha0, "psnr_clip": psnr_clip}
        self.options.update(inner_patch=inner_patch, alpha=alpha)

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Ω of each restored image against its reference."""
        return omega(restored, reference, **self.options)


@METRICS.register("omega-n")
class OmegaN(Metric):
    """Module form of :func:`omega_n` (registry name ``"omega-n"``, higher is better).

    Args:
        patch: Patch size ``m``.
        r: Steepness of the logistic weight.
        alpha0: Deviation at which the weight is 1/2.
        inner_patch: Sub-patch size of the inner Q.
        alpha: Significance level of the inner anisotropy test.
        contrast: Contrast floor of the fidelity term.

    Shape:
        ``(B, C, H, W), (B, C, H, W) -> (B,)``.
    """

    name: ClassVar[str] = "omega-n"
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def __init__(
        self,
        patch: int = 16,
        r: float = 5.0,
        alpha0: float = 1.2,
        inner_patch: int = 2,
        alpha: float = 0.001,
        contrast: float = OMEGA_N_CONTRAST,
    ) -> None:
        super().__init__()
        check_patch_args(patch, alpha)
        check_patch_args(inner_patch, alpha)
        if not contrast > 0:
            raise ValueError(f"contrast must be positive, got {contrast}")
        self.options = {"patch": patch, "r": r, "alpha0": alpha0, "contrast": contrast}
        self.options.update(inner_patch=inner_patch, alpha=alpha)

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Ω-n of each restored image against its reference."""
        return omega_n(restored, reference, **self.options)
