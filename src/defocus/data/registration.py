"""Registering a defocused capture to its sharp ground truth, and preparing the pair.

The capture differs from the ground truth by a small camera motion, the blur, and a
colour change. :func:`register` estimates a global warp robustly despite the blur:

1. the blur is matched first: the ground truth is blurred with the disk PSF whose
   radius gives it the same normalised gradient energy as the capture
   (:func:`match_blur_radius`), so that both images look alike to the aligner;
2. the warp is initialised by phase correlation (translation) at the coarsest level
   of an image pyramid, or, if that ends in a poor fit, by a similarity fitted with
   RANSAC to ORB feature matches (large rotations);
3. OpenCV's ECC maximisation (Evangelidis & Psarakis 2008, ``cv2.findTransformECC``),
   invariant to gain and offset, refines a translation / Euclidean / affine /
   homography model coarse to fine;
4. the residual misalignment is measured by translation-only ECC on a grid of tiles
   of the aligned images.

:func:`prepare_pair` then warps the capture onto the ground truth, matches its colours
(:mod:`defocus.data.colour_transfer`) and crops both to their common valid area.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from skimage.color import rgb2lab

from defocus.color import to_luma
from defocus.data.colour_transfer import apply_affine_colour, fit_affine_colour, idt_transfer
from defocus.degrade import blur, disk_kernel
from defocus.errors import DefocusError

MODELS = {
    "translation": cv2.MOTION_TRANSLATION,
    "euclidean": cv2.MOTION_EUCLIDEAN,
    "affine": cv2.MOTION_AFFINE,
    "homography": cv2.MOTION_HOMOGRAPHY,
}
COLOUR_METHODS = ("affine", "idt", "none")


@dataclass
class Alignment:
    """A capture's registration to its ground truth.

    Attributes:
        matrix: ``3 x 3`` map from ground-truth pixel coordinates ``(x, y, 1)`` to
            capture coordinates (homogeneous for ``homography``).
        model: Motion model used.
        blur_radius: Radius of the disk PSF matched to the capture's blur (px).
        correlation: Final ECC correlation coefficient (1 = identical up to gain/offset).
        residual_px: Median length of the residual shifts measured on a 3x3 grid of
            tiles (:func:`residual_shifts`; NaN if no tile has texture enough). The
            median resists the odd tile whose measurement fails on blurred content.
        residual_max_px: Largest residual tile shift.
        residual_shifts: The ``(dx, dy)`` of each tile (row-major, NaN if unmeasured).
        crop: ``(top, left, height, width)``: the largest rectangle of the ground truth
            the warped capture covers.
    """

    matrix: np.ndarray
    model: str
    blur_radius: float
    correlation: float
    residual_px: float = float("nan")
    residual_max_px: float = float("nan")
    residual_shifts: list[list[float]] = field(default_factory=list)
    crop: tuple[int, int, int, int] = (0, 0, 0, 0)


def _grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` float image -> ``(H, W)`` float32 luma."""
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.shape[2] == 1:
        return image[..., 0].astype(np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    return to_luma(tensor.float())[0, 0].numpy()


def _disk_blur(image: np.ndarray, radius: float) -> np.ndarray:
    """Blur ``(H, W)`` or ``(H, W, C)`` with an anti-aliased disk (reflect-101 border)."""
    if radius <= 0:
        return image.astype(np.float32)
    chw = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    x = torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))[None]
    out = blur(x, disk_kernel(radius), "reflect", method="opencv")[0].numpy()
    return out[0] if image.ndim == 2 else out.transpose(1, 2, 0)


def _gradient_ratio(grey: np.ndarray) -> float:
    """Mean squared gradient over variance: a contrast-invariant sharpness measure."""
    gy, gx = np.gradient(grey.astype(np.float64))
    return float((gx**2 + gy**2).mean() / max(grey.var(), 1e-12))


def _centre_crop(grey: np.ndarray, size: int) -> np.ndarray:
    h, w = grey.shape
    top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
    return grey[top : top + size, left : left + size]


def match_blur_radius(sharp: np.ndarray, blurry: np.ndarray, max_radius: float = 20.0) -> float:
    """Disk radius that makes ``sharp`` as blurred as ``blurry`` (bisection, ±0.05 px).

    The criterion, mean squared gradient over variance, ignores gain and offset, so a
    colour change does not bias it, and barely depends on a small misalignment.

    Args:
        sharp: Ground-truth luma.
        blurry: Capture luma.
        max_radius: Largest radius considered.

    Returns:
        The radius in pixels (0 if the capture is not blurrier than the ground truth).

    Shape:
        ``(H, W)`` each (central crops of at most 512 px are used).
    """
    sharp, blurry = _centre_crop(sharp, 512), _centre_crop(blurry, 512)
    goal = _gradient_ratio(blurry)
    if _gradient_ratio(sharp) <= goal:
        return 0.0
    lo, hi = 0.0, max_radius
    while hi - lo > 0.05:
        mid = 0.5 * (lo + hi)
        if _gradient_ratio(_disk_blur(sharp, mid)) > goal:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _scale_matrix(matrix: np.ndarray, factor: float) -> np.ndarray:
    """Express a warp between images scaled by ``factor`` (``S M S⁻¹``)."""
    s = np.diag([factor, factor, 1.0])
    return s @ matrix @ np.linalg.inv(s)


def _pyramid(image: np.ndarray, min_side: int) -> list[np.ndarray]:
    levels = [image]
    while min(levels[-1].shape) >= 2 * min_side and len(levels) < 6:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels[::-1]  # coarsest first


def warp_image(capture: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample ``capture`` onto the ground-truth grid: ``out(p) = capture(matrix · p)``.

    Bicubic interpolation; samples from outside the capture are 0 (see
    :func:`valid_mask`).

    Shape:
        ``capture``: ``(h, w)`` or ``(h, w, C)`` -> ``(H, W)`` or ``(H, W, C)`` for
        ``shape = (H, W)``.
    """
    size = (shape[1], shape[0])
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    src = np.ascontiguousarray(capture, dtype=np.float32)  # OpenCV 5.0 mis-warps float64 RGB
    if np.allclose(matrix[2], [0.0, 0.0, 1.0]):
        out = cv2.warpAffine(src, matrix[:2], size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    else:
        out = cv2.warpPerspective(src, matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    return out[..., None] if capture.ndim == 3 and out.ndim == 2 else out


def valid_mask(
    capture_shape: tuple[int, int], matrix: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels of the ground-truth grid whose bicubic sample lies fully inside the capture.

    Shape:
        ``(H, W)`` boolean for ``shape = (H, W)``.
    """
    ones = np.ones(capture_shape, dtype=np.float32)
    size = (shape[1], shape[0])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if np.allclose(matrix[2], [0.0, 0.0, 1.0]):
        coverage = cv2.warpAffine(ones, matrix[:2], size, flags=flags, borderValue=0)
    else:
        coverage = cv2.warpPerspective(ones, matrix, size, flags=flags, borderValue=0)
    inside = (coverage >= 1.0 - 1e-4).astype(np.uint8)
    return cv2.erode(inside, np.ones((5, 5), np.uint8), borderValue=0).astype(bool)  # cubic: ±2 px


def largest_valid_rectangle(mask: np.ndarray) -> tuple[int, int, int, int]:
    """An axis-aligned rectangle of ``True`` pixels, as large as greedy trimming finds.

    Starting from the bounding box of the valid pixels, the side with the most invalid
    pixels is trimmed by one row/column until none is left. For the nearly rectangular
    valid areas of small camera motions this finds the largest inscribed rectangle.

    Returns:
        ``(top, left, height, width)``.

    Raises:
        DefocusError: If no valid pixels remain.
    """
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if len(rows) == 0:
        raise DefocusError("the aligned capture does not overlap the ground truth")
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    invalid = ~mask
    while top < bottom and left < right:
        box = invalid[top:bottom, left:right]
        counts = (box[0].sum(), box[-1].sum(), box[:, 0].sum(), box[:, -1].sum())
        if max(counts) == 0:
            return int(top), int(left), int(bottom - top), int(right - left)
        side = int(np.argmax(counts))
        if side == 0:
            top += 1
        elif side == 1:
            bottom -= 1
        elif side == 2:
            left += 1
        else:
            right -= 1
    raise DefocusError("the aligned capture does not overlap the ground truth")


def residual_shifts(reference: np.ndarray, aligned: np.ndarray, grid: int = 3) -> np.ndarray:
    """Local sub-pixel shifts left between two aligned images, on a ``grid x grid`` of tiles.

    Each tile of ``aligned`` is registered to the same tile of ``reference`` with a
    translation-only ECC. Tiles with less than a fifth of the image's mean squared
    gradient are too flat to measure and give NaN, as do tiles that do not converge.

    Returns:
        ``(grid², 2)`` shifts ``(dx, dy)`` in pixels: ``aligned(p + d) ≈ reference(p)``.

    Shape:
        ``reference``, ``aligned``: ``(H, W)``.
    """
    h, w = reference.shape
    th, tw = h // grid, w // grid
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    shifts = np.full((grid * grid, 2), np.nan)
    gy, gx = np.gradient(reference.astype(np.float64))
    energy = gx**2 + gy**2
    threshold = 0.2 * energy.mean()
    for i in range(grid):
        for j in range(grid):
            tile = np.s_[i * th : (i + 1) * th, j * tw : (j + 1) * tw]
            a = np.ascontiguousarray(reference[tile], dtype=np.float32)
            b = np.ascontiguousarray(aligned[tile], dtype=np.float32)
            if min(th, tw) < 16 or energy[tile].mean() < threshold:
                continue
            warp = np.eye(2, 3, dtype=np.float32)
            try:
                _, warp = cv2.findTransformECC(
                    a, b, warp, cv2.MOTION_TRANSLATION, criteria, None, 1
                )
            except cv2.error:
                continue
            shifts[i * grid + j] = warp[:, 2]
    return shifts


# A final ECC correlation this high means the phase-correlation start was good enough;
# below it the feature-based start is tried too and the better result kept.
GOOD_CORRELATION = 0.9


def _phase_correlation_start(
    ref_levels: list[np.ndarray], mov_levels: list[np.ndarray]
) -> np.ndarray:
    """Translation found by phase correlation at the coarsest level (in its pixels)."""
    window = cv2.createHanningWindow(ref_levels[0].shape[::-1], cv2.CV_64F)
    coarse_ref = ref_levels[0].astype(np.float64)
    coarse_mov = cv2.resize(mov_levels[0], ref_levels[0].shape[::-1]).astype(np.float64)
    (dx, dy), _ = cv2.phaseCorrelate(coarse_ref, coarse_mov, window)
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _as_uint8(grey: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(grey, (0.5, 99.5))
    return np.clip((grey - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255).astype(np.uint8)


def _feature_start(
    ref_levels: list[np.ndarray], mov_levels: list[np.ndarray], max_side: int = 1024
) -> np.ndarray | None:
    """Similarity from ORB matches + RANSAC (for large rotations), in coarsest-level pixels.

    Features are detected on the finest pyramid level no larger than ``max_side``;
    ``None`` when too few consistent matches are found.
    """
    level = max([0] + [i for i, im in enumerate(ref_levels) if max(im.shape) <= max_side])
    orb = cv2.ORB_create(nfeatures=4000)
    ref_points, ref_desc = orb.detectAndCompute(_as_uint8(ref_levels[level]), None)
    mov_points, mov_desc = orb.detectAndCompute(_as_uint8(mov_levels[level]), None)
    if ref_desc is None or mov_desc is None or len(ref_points) < 8 or len(mov_points) < 8:
        return None
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(ref_desc, mov_desc)
    if len(matches) < 8:
        return None
    src = np.float32([ref_points[m.queryIdx].pt for m in matches])
    dst = np.float32([mov_points[m.trainIdx].pt for m in matches])
    similarity, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0
    )
    if similarity is None or int(inliers.sum()) < 8:
        return None
    return _scale_matrix(np.vstack([similarity, [0.0, 0.0, 1.0]]), 0.5**level)


def _refine(
    ref_levels: list[np.ndarray],
    mov_levels: list[np.ndarray],
    start: np.ndarray,
    model: str,
    criteria: tuple[int, int, float],
) -> tuple[float, np.ndarray] | None:
    """ECC coarse to fine from ``start``; ``(correlation, matrix)`` at full resolution."""
    matrix, correlation = start, float("nan")
    for level, (ref, mov) in enumerate(zip(ref_levels, mov_levels, strict=True)):
        if level > 0:
            matrix = _scale_matrix(matrix, 2.0)
        warp = matrix.astype(np.float32) if model == "homography" else matrix[:2].astype(np.float32)
        try:
            correlation, warp = cv2.findTransformECC(
                ref, mov, warp, MODELS[model], criteria, None, 5
            )
        except cv2.error:
            return None
        matrix = warp.astype(np.float64) if model == "homography" else np.vstack([warp, [0, 0, 1]])
    return float(correlation), matrix


def register(
    ground_truth: np.ndarray,
    capture: np.ndarray,
    model: str = "affine",
    iterations: int = 200,
    min_side: int = 64,
    min_correlation: float = 0.5,
) -> Alignment:
    """Estimate the warp from ground-truth to capture coordinates (see module docstring).

    Args:
        ground_truth: Sharp reference image, float in ``[0, 1]``.
        capture: Blurry capture of the same scene (any size), float in ``[0, 1]``.
        model: ``"translation"``, ``"euclidean"``, ``"affine"`` or ``"homography"``.
        iterations: ECC iterations per pyramid level.
        min_side: Smallest side of the coarsest pyramid level.
        min_correlation: Smallest acceptable final ECC correlation.

    Returns:
        The alignment, with residual shifts measured after warping.

    Raises:
        DefocusError: If ECC does not converge or ends below ``min_correlation``
            from either start (images too different).

    Shape:
        ``(H, W)`` or ``(H, W, C)`` each.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    reference, moving = _grey(ground_truth), _grey(capture)
    radius = match_blur_radius(reference, moving)
    reference = _disk_blur(reference, radius)
    ref_levels, mov_levels = _pyramid(reference, min_side), _pyramid(moving, min_side)
    depth = min(len(ref_levels), len(mov_levels))
    ref_levels, mov_levels = ref_levels[-depth:], mov_levels[-depth:]

    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-7)
    best: tuple[float, np.ndarray] | None = None
    for initialise in (_phase_correlation_start, _feature_start):
        start = initialise(ref_levels, mov_levels)
        if start is None:
            continue
        if model == "translation":
            start[:2, :2] = np.eye(2)
        result = _refine(ref_levels, mov_levels, start, model, criteria)
        if result is not None and (best is None or result[0] > best[0]):
            best = result
        if best is not None and best[0] >= GOOD_CORRELATION:
            break
    if best is None or best[0] < min_correlation:
        found = "no convergence" if best is None else f"ECC correlation {best[0]:.3f}"
        raise DefocusError(f"registration failed ({found}); are these the same scene?")
    correlation, matrix = best

    aligned = warp_image(moving, matrix, reference.shape)
    mask = valid_mask(moving.shape, matrix, reference.shape)
    top, left, height, width = largest_valid_rectangle(mask)
    box = np.s_[top : top + height, left : left + width]
    shifts = residual_shifts(reference[box], aligned[box])
    lengths = np.hypot(shifts[:, 0], shifts[:, 1])
    lengths = lengths[np.isfinite(lengths)]
    if len(lengths) == 0:
        lengths = np.array([np.nan])
    shift_list = [[float(v) for v in row] for row in shifts]
    return Alignment(
        matrix=matrix,
        model=model,
        blur_radius=radius,
        correlation=float(correlation),
        residual_px=float(np.median(lengths)),
        residual_max_px=float(lengths.max()),
        residual_shifts=shift_list,
        crop=(top, left, height, width),
    )


@dataclass
class PreparedPair:
    """A registered, colour-matched and cropped pair.

    Attributes:
        ground_truth: Cropped ground truth ``(h, w, C)``.
        capture: Capture warped onto it, colour-matched, same crop ``(h, w, C)``.
        alignment: The registration (its ``crop`` is the crop applied to both).
        colour_error_before: Mean absolute per-channel difference between the warped
            capture and the blur-matched ground truth, before colour matching.
        colour_error_after: The same after colour matching.
        delta_e_before: Mean CIE76 ΔE (CIELAB, sRGB D65) between the same images
            before colour matching (NaN for grey images).
        delta_e_after: The same after colour matching.
        colour_map: The fitted affine colour map (``affine`` method), else ``None``.
    """

    ground_truth: np.ndarray
    capture: np.ndarray
    alignment: Alignment
    colour_error_before: float
    colour_error_after: float
    delta_e_before: float
    delta_e_after: float
    colour_map: np.ndarray | None = field(default=None)


def prepare_pair(
    ground_truth: np.ndarray,
    capture: np.ndarray,
    model: str = "affine",
    colour: str = "affine",
    seed: int = 0,
) -> PreparedPair:
    """Register ``capture`` to ``ground_truth``, match its colours, crop both alike.

    Args:
        ground_truth: ``(H, W, C)`` float in ``[0, 1]``.
        capture: ``(h, w, C)`` float in ``[0, 1]``, same channel count.
        model: Motion model (see :func:`register`).
        colour: ``"affine"`` (least-squares colour map against the blur-matched
            ground truth, per pixel), ``"idt"`` (Pitié's iterative distribution
            transfer towards the blur-matched ground truth's colours) or ``"none"``.
        seed: Seed of the IDT rotations.

    Returns:
        The prepared pair and its diagnostics.
    """
    if colour not in COLOUR_METHODS:
        raise ValueError(f"colour must be one of {', '.join(COLOUR_METHODS)}; got {colour!r}")
    if ground_truth.shape[2] != capture.shape[2]:
        raise DefocusError(
            f"ground truth has {ground_truth.shape[2]} channels, capture {capture.shape[2]}"
        )
    alignment = register(ground_truth, capture, model)
    shape = ground_truth.shape[:2]
    warped = warp_image(capture, alignment.matrix, shape)
    top, left, height, width = alignment.crop
    box = np.s_[top : top + height, left : left + width]
    gt = ground_truth[box].astype(np.float32)
    moved = warped[box].astype(np.float64)
    target = _disk_blur(gt, alignment.blur_radius).astype(np.float64)
    channels = gt.shape[2]
    pixels, reference = moved.reshape(-1, channels), target.reshape(-1, channels)
    # Statistics and the colour fit use an evenly spread subset of at most ~500k pixels.
    sample = np.s_[:: max(1, len(pixels) // 500_000)]
    before = float(np.abs(pixels[sample] - reference[sample]).mean())
    delta_e_before = mean_delta_e(pixels[sample], reference[sample])
    colour_map = None
    if colour == "affine":
        colour_map = fit_affine_colour(pixels[sample], reference[sample])
        pixels = apply_affine_colour(pixels, colour_map)
    elif colour == "idt":
        pixels = idt_transfer(pixels, reference, seed=seed)
    pixels = np.clip(pixels, 0.0, 1.0)
    return PreparedPair(
        ground_truth=gt,
        capture=pixels.reshape(moved.shape).astype(np.float32),
        alignment=alignment,
        colour_error_before=before,
        colour_error_after=float(np.abs(pixels[sample] - reference[sample]).mean()),
        delta_e_before=delta_e_before,
        delta_e_after=mean_delta_e(pixels[sample], reference[sample]),
        colour_map=colour_map,
    )


def mean_delta_e(first: np.ndarray, second: np.ndarray) -> float:
    """Mean CIE76 colour difference ΔE*ab of two sets of sRGB colours (NaN unless 3 channels).

    Shape:
        ``(..., 3)`` each, values in ``[0, 1]``.
    """
    if first.shape[-1] != 3:
        return float("nan")
    lab1 = rgb2lab(np.clip(first, 0.0, 1.0))
    lab2 = rgb2lab(np.clip(second, 0.0, 1.0))
    return float(np.sqrt(((lab1 - lab2) ** 2).sum(axis=-1)).mean())
