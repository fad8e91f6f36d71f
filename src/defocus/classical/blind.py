"""Blind defocus estimation by generalised cross-validation, and blind Wiener deconvolution.

Reeves & Mersereau (1992) identify a blur by minimising the GCV criterion of the
regularised (Wiener–Hunt) restoration over the blur parameters *and* the balance
``λ``: the wrong PSF leaves structure in the residual that cross-validation penalises.
Here the candidates are anti-aliased disks on a 0.25 px radius grid and the
regulariser is the 5-point Laplacian; images are extended symmetrically (the
``"symmetric"`` boundary) so that the periodic model fits, and restored on that same
domain. On the defocus protocol (disk r = 1..5, σ = 0.01) this found the true radius on
38 of 40 probe cases and was 0.25 px off on the other two.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from defocus.classical.gcv import log_gcv, onesided_weights
from defocus.classical.operators import check_observation
from defocus.classical.wiener import regulariser_power, wiener
from defocus.degrade.kernels import disk_kernel
from defocus.operators.blur import BlurOperator
from defocus.operators.domain import Domain

DISK_RADII = tuple(0.5 + 0.25 * i for i in range(31))
"""Radii (pixels) searched by :func:`estimate_disk_blur`: 0.5 (a single tap: no blur) to 8."""
GCV_BALANCES = tuple(10.0 ** (-6 + i / 2) for i in range(13))
"""Balances searched jointly with the radius: 1e-6 to 1, two per decade."""
ESTIMATE_CROP = 512
"""Images with more than 1.5 · ESTIMATE_CROP² pixels are estimated on crops of this side."""
ESTIMATE_MAX_CROPS = 3
"""At most this many crops per image side (9 crops in all)."""


def symmetric_extension(x: torch.Tensor) -> torch.Tensor:
    """The image and its half-sample mirror images, a smooth periodic ``(2H, 2W)`` tile.

    The ``"symmetric"`` working domain (:class:`defocus.operators.domain.Domain`).

    Shape:
        ``(..., H, W) -> (..., 2H, 2W)``.
    """
    return Domain.for_psf(x.shape[-2:], (1, 1), "symmetric").pad(x)


def mirror_spectrum(y: torch.Tensor, psf_side: int = 1) -> tuple[torch.Tensor, tuple[int, int]]:
    """``rfft2`` of the images on a seamless periodic domain, and that domain's size.

    The domain is the symmetric extension (:func:`symmetric_extension`) of the images
    themselves, ``(2H, 2W)``, with no padding to a fast FFT length (padding would change
    the boundary model at the bottom and right edges; awkward lengths cost at most about
    2x in the FFT). Only images too small for the PSF (``2H < psf_side``) are first
    replicate-padded.

    Shape:
        ``(B, C, H, W) -> (B, C, Hd, Wd // 2 + 1)`` with ``(Hd, Wd) = (2H, 2W)`` for images
        of at least half the PSF's side.
    """
    height, width = y.shape[-2:]
    least = (psf_side + 1) // 2
    if height < least or width < least:
        pad_h, pad_w = max(0, least - height), max(0, least - width)
        y = F.pad(y, (0, pad_w, 0, pad_h), mode="replicate")
    domain = symmetric_extension(y)
    return torch.fft.rfft2(domain), (domain.shape[-2], domain.shape[-1])


def stack_psfs(psfs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Centre odd-sized kernels in a common square and stack them.

    Shape:
        ``K`` kernels ``(h_k, w_k)`` -> ``(K, S, S)``, ``S`` the largest side.
    """
    side = max(max(k.shape) for k in psfs)
    padded = []
    for kernel in psfs:
        dh, dw = (side - kernel.shape[0]) // 2, (side - kernel.shape[1]) // 2
        padded.append(F.pad(kernel, (dw, dw, dh, dh)))
    return torch.stack(padded)


@functools.lru_cache(maxsize=16)
def _disk_table(radii: tuple[float, ...], dtype: torch.dtype) -> torch.Tensor:
    return stack_psfs([disk_kernel(r, dtype) for r in radii])


def disk_bank(radii: Sequence[float], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Disk PSFs (:func:`defocus.degrade.disk_kernel`) of ``radii`` in one stack.

    Built once per radii and dtype (every blur estimate needs the table): the result is
    shared, so do not modify it in place.

    Shape:
        ``(len(radii), S, S)``.
    """
    return _disk_table(tuple(float(r) for r in radii), dtype)


def gcv_scores(y: torch.Tensor, psfs: torch.Tensor, balances: Sequence[float]) -> torch.Tensor:
    """``log GCV(K, λ)`` of Wiener–Hunt restoration for every PSF and balance.

    :func:`defocus.classical.gcv.log_gcv` on the symmetric domain
    (:func:`mirror_spectrum`). The domain is mirror-symmetric and the PSFs are
    centro-symmetric, so every power spectrum is symmetric in the row frequency too:
    only rows ``0 … Hd/2`` are used, the others counted twice.

    Args:
        y: Single-channel images.
        psfs: Candidate kernels, centro-symmetric.
        balances: Candidate ``λ``.

    Shape:
        ``y (B, 1, H, W)``, ``psfs (R, S, S) -> (B, R, L)``.
    """
    spectrum, size = mirror_spectrum(y, psfs.shape[-1])
    rows = size[0] // 2 + 1
    row_weights = onesided_weights((1, size[0]), spectrum.real)
    weights = (row_weights[:, None] * onesided_weights(size, spectrum.real)).flatten()
    data_power = spectrum[..., :rows, :].abs().square().flatten(1) * weights  # (B, F)
    candidates = BlurOperator(psfs.to(y.dtype)[:, None], "circular")  # one per radius
    otf = candidates.transfer_function(size)[:, 0, :rows, :]
    otf_power = otf.abs().square().flatten(1)  # (R, F)
    penalty = regulariser_power("laplacian", size, y)[..., :rows, :].flatten()
    return log_gcv(data_power, otf_power, penalty, weights, balances)


def estimation_crops(y: torch.Tensor, crop: int, max_crops: int) -> torch.Tensor:
    """The whole images, or for large ones a grid of up to ``max_crops²`` crops each.

    Shape:
        ``(B, 1, H, W) -> (B · n, 1, h, w)``, ``n`` crops per image (1 for small images).
    """
    height, width = y.shape[-2:]
    if height * width <= 1.5 * crop * crop:
        return y
    rows = min(max_crops, math.ceil(height / crop)) if height > crop else 1
    cols = min(max_crops, math.ceil(width / crop)) if width > crop else 1
    h, w = min(crop, height), min(crop, width)
    tops = torch.linspace(0, height - h, rows).round().long().tolist()
    lefts = torch.linspace(0, width - w, cols).round().long().tolist()
    crops = [y[:, :, t : t + h, s : s + w] for t in tops for s in lefts]
    return torch.stack(crops, dim=1).flatten(0, 1)


@dataclass
class BlurEstimate:
    """Disk blur and Wiener balance estimated per image.

    Attributes:
        index: Position of the radius in the searched radii, ``(B,)`` long.
        radius: The radius in pixels, ``(B,)``.
        balance: The GCV-best balance ``λ`` at that radius, ``(B,)``.
    """

    index: torch.Tensor
    radius: torch.Tensor
    balance: torch.Tensor


def estimate_disk_blur(
    y: torch.Tensor,
    radii: Sequence[float] = DISK_RADII,
    balances: Sequence[float] = GCV_BALANCES,
    crop: int = ESTIMATE_CROP,
    max_crops: int = ESTIMATE_MAX_CROPS,
) -> BlurEstimate:
    """Find each image's disk radius and Wiener balance by joint GCV minimisation.

    Large images (over ``1.5 · crop²`` pixels) are scored on a grid of up to
    ``max_crops x max_crops`` crops of side ``crop``, whose log-GCV tables are summed, so
    the cost is bounded whatever the image size. Colour images are scored on the mean of
    their channels.

    Args:
        y: Images.
        radii: Candidate disk radii (pixels); ``0.5`` is a single tap (no blur).
        balances: Candidate balances.
        crop: Crop side for large images.
        max_crops: Crops per side at most.

    Returns:
        The estimate per image.

    Shape:
        ``y (B, C, H, W)`` -> fields ``(B,)``.
    """
    grey = y.mean(dim=1, keepdim=True)
    crops = estimation_crops(grey, crop, max_crops)
    bank = disk_bank(radii, y.dtype).to(y.device)

    def table(indices: torch.Tensor) -> torch.Tensor:
        scores = gcv_scores(crops, bank[indices], balances)  # (B · n, r, L)
        return scores.reshape(y.shape[0], -1, *scores.shape[-2:]).sum(dim=1)

    # every other radius first, then the two neighbours of each image's best one
    coarse = torch.arange(0, len(radii), 2, device=y.device)
    best = coarse[table(coarse).amin(dim=-1).argmin(dim=1)]  # (B,)
    neighbours = torch.stack([best - 1, best + 1], dim=1).clamp(0, len(radii) - 1)
    candidates = torch.cat([best[:, None], neighbours], dim=1)  # (B, 3)
    fine = torch.unique(candidates)
    scores = table(fine)  # (B, len(fine), L)
    position = torch.searchsorted(fine, candidates)
    chosen = scores.gather(1, position[..., None].expand(-1, -1, scores.shape[-1]))
    flat = chosen.flatten(1).argmin(dim=1)
    index = candidates.gather(1, (flat // len(balances))[:, None]).squeeze(1)
    level = flat % len(balances)
    radius_table = torch.tensor(radii, dtype=y.dtype, device=y.device)
    lams = torch.tensor(balances, dtype=y.dtype, device=y.device)
    return BlurEstimate(index=index, radius=radius_table[index], balance=lams[level])


LOCAL_CROP = 128
"""Crop side of :func:`local_disk_radius` (pixels)."""
TAPER = 16
"""Width (pixels) of the raised-cosine edge taper of each local crop."""
LOCAL_CHUNK = 256
"""Windows that :func:`local_disk_radius` estimates at a time (bounded memory)."""


def edge_taper(crops: torch.Tensor, width: int = TAPER) -> torch.Tensor:
    """Each crop faded to its own mean over ``width`` pixels at its borders.

    A crop's borders do not match the blur that came from outside it, and GCV with a
    symmetric extension then prefers too small a disk (a 6 px disk read as 2 px in
    512-px crops); faded to a constant, the borders carry no structure to explain.

    Shape:
        ``(N, C, h, w) -> (N, C, h, w)``, ``h, w >= 2 · width``.
    """

    def ramp(size: int) -> torch.Tensor:
        t = torch.ones(size, dtype=crops.dtype, device=crops.device)
        steps = torch.arange(width, dtype=crops.dtype, device=crops.device)
        edge = 0.5 - 0.5 * torch.cos(math.pi * (steps + 0.5) / width)
        t[:width], t[size - width :] = edge, edge.flip(0)
        return t

    window = ramp(crops.shape[-2])[:, None] * ramp(crops.shape[-1])[None, :]
    mean = crops.mean(dim=(-2, -1), keepdim=True)
    return window * crops + (1 - window) * mean


def local_disk_radius(
    y: torch.Tensor,
    crop: int = LOCAL_CROP,
    radii: Sequence[float] = DISK_RADII,
) -> torch.Tensor:
    """The GCV disk radius of every ``crop``-sized window, half a window apart.

    Each window is tapered (:func:`edge_taper`) and estimated alone by
    :func:`estimate_disk_blur`: where a photo is sharp on one side and blurred on the
    other, each side reads its own blur (the global estimate reads one number). Flat
    windows read small radii, as GCV does on flat images. Windows shrink to the image's
    short side when it is smaller than ``crop``. They are cut and estimated a band of
    window rows at a time (about :data:`LOCAL_CHUNK` windows), so the memory stays
    bounded whatever the image size.

    Returns:
        The radius (pixels) of each window, on the grid of window positions.

    Shape:
        ``(B, C, H, W) -> (B, 1, rows, cols)``; colour is averaged first.
    """
    grey = y.mean(dim=1, keepdim=True)
    side = min(crop, *grey.shape[-2:])
    stride = max(1, side // 2)
    taper = min(TAPER, side // 4)
    rows, cols = ((length - side) // stride + 1 for length in grey.shape[-2:])
    band = max(1, LOCAL_CHUNK // (cols * grey.shape[0]))  # window rows per chunk
    radius = []
    for first in range(0, rows, band):
        count = min(band, rows - first)
        strip = grey[..., first * stride : first * stride + side + (count - 1) * stride, :]
        windows = F.unfold(strip, side, stride=stride)  # (B, side², count · cols)
        crops = windows.transpose(1, 2).reshape(-1, 1, side, side)
        found = estimate_disk_blur(edge_taper(crops, taper), radii).radius
        radius.append(found.reshape(grey.shape[0], 1, count, cols))
    return torch.cat(radius, dim=2)


def window_interpolation(length: int, side: int, count: int) -> torch.Tensor:
    """Linear interpolation from :func:`local_disk_radius`'s window centres to every pixel.

    Window ``k`` covers pixels ``[k · s, k · s + side)`` (``s = side // 2``); pixel ``i``
    takes the two windows whose centres surround it, weighted by distance, and the
    nearest window beyond the first or last centre.

    Returns:
        The weights, each row summing to 1.

    Shape:
        ``(length, count)``.
    """
    stride = max(1, side // 2)
    position = (torch.arange(length, dtype=torch.float64) + 0.5 - side / 2) / stride
    position = position.clamp(0, count - 1)
    low = position.floor().clamp(max=max(count - 2, 0))
    fraction = position - low
    weights = torch.zeros(length, count, dtype=torch.float64)
    index = low.long()[:, None]
    weights.scatter_(1, index, (1 - fraction)[:, None])
    if count > 1:
        weights.scatter_add_(1, index + 1, fraction[:, None])
    return weights.float()


def local_disk_radius_map(
    y: torch.Tensor,
    crop: int = LOCAL_CROP,
    radii: Sequence[float] = DISK_RADII,
) -> torch.Tensor:
    """:func:`local_disk_radius` interpolated to every pixel (bilinear between window centres).

    Made as ``A · R · Bᵀ`` with the separable weights of :func:`window_interpolation`:
    no full-size temporary beyond the result.

    Shape:
        ``(B, C, H, W) -> (B, 1, H, W)`` float32, radii in pixels.
    """
    height, width = y.shape[-2:]
    grid = local_disk_radius(y, crop, radii).float()
    side = min(crop, height, width)
    rows = window_interpolation(height, side, grid.shape[-2]).to(grid.device)
    cols = window_interpolation(width, side, grid.shape[-1]).to(grid.device)
    return rows @ grid @ cols.T


def blind_wiener(
    y: torch.Tensor,
    radii: Sequence[float] = DISK_RADII,
    balances: Sequence[float] = GCV_BALANCES,
) -> torch.Tensor:
    """Blind Wiener–Hunt deconvolution: the disk and balance of :func:`estimate_disk_blur`.

    Each image is deconvolved (Laplacian regulariser; every channel with the image's
    estimate) by :func:`defocus.classical.wiener.wiener` on the domain the estimate was
    made on: the ``"symmetric"`` (half-sample) boundary, solved exactly.

    Args:
        y: Blurry images.
        radii: Candidate disk radii (pixels).
        balances: Candidate balances.

    Returns:
        The restored images, not clipped.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """
    check_observation(y)
    side = disk_bank(radii, y.dtype).shape[-1]
    if min(y.shape[-2:]) < side:
        height, width = y.shape[-2:]
        raise ValueError(
            f"image is {width}x{height} pixels; blind deblurring needs at least "
            f"{side}x{side} (the largest candidate disk)"
        )
    estimate = estimate_disk_blur(y, radii, balances)
    psfs = disk_bank(radii, y.dtype).to(y.device)[estimate.index]  # (B, S, S)
    return wiener(y, psfs, estimate.balance, padding="symmetric")
