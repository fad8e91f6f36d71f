"""Per-patch structure tensors: in-patch gradients, their sums, closed-form 2x2 eigenvalues.

These are the building blocks of the sharpness metric Q (Zhu & Milanfar 2010), its
MMSP 2024 training variant and the inner Q of Ω. Patches are non-overlapping
``N x N`` tiles from the top-left corner. No Python loop runs over patches: the
gradient *inside* each patch (``numpy.gradient`` style, or Sobel with reflect
padding) is a tridiagonal ``N x N`` matrix applied along whole image rows and
columns with per-position weights whose zeros at patch borders keep the patches
apart; the per-patch sums ``Σ gx², Σ gx·gy, Σ gy²`` follow, then the eigen-analysis
of the 2x2 matrix ``GᵀG`` in closed form on the ``(nH, nW)`` maps. Large images are
processed in cache-sized strips, with a hand-written backward that recomputes the
gradients instead of storing them.

The square roots and divisions are guarded so that gradients stay finite on flat,
constant or perfectly one-dimensional patches, where the exact derivative of a
singular value is infinite or undefined; there the guarded branch is constant and
its gradient is zero.
"""

from __future__ import annotations

import functools
import math

import torch
from torch.autograd.function import once_differentiable


def tile(y: torch.Tensor, n: int) -> torch.Tensor:
    """View an image as non-overlapping ``n x n`` tiles from the top-left corner.

    An incomplete row or column of tiles at the bottom/right border is dropped. The
    result is a view (no copy), also for non-contiguous inputs.

    Args:
        y: Images; the last two dimensions are height and width.
        n: Tile size in pixels.

    Returns:
        The tile view.

    Shape:
        ``(..., H, W) -> (..., H // n, n, W // n, n)``.

    Raises:
        ValueError: If the image is smaller than one tile.
    """
    height, width = y.shape[-2:]
    rows, cols = height // n, width // n
    if rows == 0 or cols == 0:
        raise ValueError(f"image of {height}x{width} pixels is smaller than one {n}x{n} patch")
    cropped = y[..., : rows * n, : cols * n]
    return cropped.unflatten(-1, (cols, n)).unflatten(-3, (rows, n))


def _reflect(k: int, n: int) -> int:
    """Index ``k`` mirrored into ``[0, n)`` without repeating the edge (``-1 -> 1``)."""
    return -k if k < 0 else (2 * n - 2 - k if k >= n else k)


def _stencil(
    n: int, weights: dict[int, float], dtype: torch.dtype, device: torch.device | str
) -> torch.Tensor:
    """``n x n`` matrix applying a 1-D stencil ``{offset: weight}`` with reflect padding."""
    matrix = torch.zeros(n, n, dtype=torch.float64)
    for k in range(n):
        for offset, weight in weights.items():
            matrix[k, _reflect(k + offset, n)] += weight
    return matrix.to(dtype=dtype, device=device)


def _numpy_gradient_matrix(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``n x n`` matrix of ``numpy.gradient``: central inside, one-sided first and last rows."""
    matrix = _stencil(n, {-1: -0.5, 1: 0.5}, torch.float64, "cpu")
    matrix[0] = 0.0
    matrix[-1] = 0.0
    matrix[0, :2] = torch.tensor([-1.0, 1.0])
    matrix[-1, -2:] = torch.tensor([-1.0, 1.0])
    return matrix.to(dtype=dtype, device=device)


# A gradient operator acts on each patch P as ``gx = Lx P Rxᵀ`` and ``gy = Ly P Ryᵀ``,
# stored as ((Lx, Rx), (Ly, Ry)), None standing for the identity. All these n x n
# matrices are tridiagonal (3-tap stencils), which :class:`_Bands` relies on.
_Operators = tuple[
    tuple[torch.Tensor | None, torch.Tensor | None], tuple[torch.Tensor | None, torch.Tensor | None]
]


@functools.lru_cache(maxsize=32)
def _operators(n: int, operator: str, dtype: torch.dtype, device: torch.device) -> _Operators:
    """Patch matrices of ``"gradient"`` (``numpy.gradient``) or ``"sobel"`` (3x3 Sobel / 8).

    Cached (they are small and never modified); built outside any inference mode so
    that they can be used with autograd later.
    """
    with torch.inference_mode(False):
        return _build_operators(n, operator, dtype, device)


def _build_operators(n: int, operator: str, dtype: torch.dtype, device: torch.device) -> _Operators:
    if operator == "gradient":
        m = _numpy_gradient_matrix(n, dtype, device)
        return (None, m), (m, None)
    if operator == "sobel":
        derivative = _stencil(n, {-1: -0.125, 1: 0.125}, dtype, device)
        smoothing = _stencil(n, {-1: 1.0, 0: 2.0, 1: 1.0}, dtype, device)
        return (smoothing, derivative), (derivative, smoothing)
    raise ValueError(f"unknown gradient operator {operator!r}")


class _Bands:
    """A tridiagonal ``n x n`` patch matrix applied along one image axis.

    The matrix is laid out as three weight vectors of the axis' length (its diagonals
    repeated once per patch, with zero corners that keep patches apart), so applying
    it is three shifted multiply-adds on contiguous image rows instead of a small
    matrix product per patch. All the matrices of :func:`_operators` are tridiagonal.

    Args:
        matrix: The ``n x n`` matrix.
        length: Longest axis length it will be applied to (a multiple of ``n``).
        dim: ``-1`` (along rows: ``P @ matrixᵀ``) or ``-2`` (down columns: ``matrix @ P``).
    """

    def __init__(self, matrix: torch.Tensor, length: int, dim: int) -> None:
        zero = matrix.new_zeros(1)
        below = torch.cat((zero, matrix.diagonal(-1)))  # [j] = matrix[j, j - 1]
        above = torch.cat((matrix.diagonal(1), zero))  # [j] = matrix[j, j + 1]
        shape = (-1,) if dim == -1 else (-1, 1)
        reps = length // matrix.shape[0]
        self.dim, self.length = dim, length
        self.main = matrix.diagonal().repeat(reps).view(shape)
        self.below = below.repeat(reps).view(shape).narrow(dim, 1, length - 1)
        self.above = above.repeat(reps).view(shape).narrow(dim, 0, length - 1)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        dim, length = self.dim, t.shape[self.dim]
        main, below, above = self.main, self.below, self.above
        if length != self.length:  # a shorter strip: same pattern, cut short
            main = main.narrow(dim, 0, length)
            below, above = (w.narrow(dim, 0, length - 1) for w in (below, above))
        out = t * main
        out.narrow(dim, 1, length - 1).addcmul_(t.narrow(dim, 0, length - 1), below)
        out.narrow(dim, 0, length - 1).addcmul_(t.narrow(dim, 1, length - 1), above)
        return out


_Plan = tuple[tuple[_Bands | None, _Bands | None], tuple[_Bands | None, _Bands | None]]


@functools.lru_cache(maxsize=32)
def _plan(ops: _Operators, height: int, width: int, adjoint: bool = False) -> _Plan:
    """Lay out the patch matrices of ``ops`` (or their transposes) for strips of a size.

    Cached like :func:`_operators` (whose cached results are the keys here).
    """

    def bands(matrix: torch.Tensor | None, length: int, dim: int) -> _Bands | None:
        if matrix is None:
            return None
        return _Bands(matrix.T if adjoint else matrix, length, dim)

    with torch.inference_mode(False):
        return tuple((bands(left, height, -2), bands(right, width, -1)) for left, right in ops)


def _apply(t: torch.Tensor, left: _Bands | None, right: _Bands | None) -> torch.Tensor:
    """``left @ P @ rightᵀ`` for every ``n x n`` patch ``P`` of ``t`` (``(B, h, w)``)."""
    if right is not None:
        t = right(t)
    if left is not None:
        t = left(t)
    return t


def _patch_sum(t: torch.Tensor, n: int) -> torch.Tensor:
    """Sum over each ``n x n`` patch; ``(B, h, w) -> (B, h // n, w // n)``.

    The ``n`` rows of a patch row are added first (contiguous, vectorised), then runs
    of ``n`` columns of the ``n``-times smaller result.
    """
    batch, height, width = t.shape
    rows = t.view(batch, height // n, n, width).sum(dim=2)
    return rows.view(batch, height // n, width // n, n).sum(dim=-1)


def _expand(per_patch: torch.Tensor, n: int) -> torch.Tensor:
    """Per-patch values ``(B, r, c)`` as ``(B, r, 1, c·n)`` rows, broadcastable to pixels."""
    batch, rows, cols = per_patch.shape
    return per_patch.unsqueeze(-1).expand(batch, rows, cols, n).reshape(batch, rows, 1, cols * n)


# Bytes per strip (of the input and of each temporary): a few of them fit in a core's
# L2 cache together, and they stay far below the allocator's mmap threshold, so
# temporaries are recycled instead of page-faulted; large enough that per-call
# overheads do not dominate. Measured best among 2^13..2^18 elements, float32 and 64.
_STRIP_BYTES = 1 << 18


def _strips(y: torch.Tensor, rows: int, width: int, n: int) -> tuple[range, int]:
    """Start rows (in patches) and height (in patches) of the strips cutting ``rows`` rows."""
    elements = _STRIP_BYTES // y.element_size()
    step = max(1, elements // (y.shape[0] * n * width))
    return range(0, rows, step), step


class _PatchStructureTensor(torch.autograd.Function):
    """Per-patch ``(Σ gx², Σ gx·gy, Σ gy²)`` with a hand-written, strip-wise backward.

    Forward and backward walk over horizontal strips of patches, recomputing the
    gradients in the backward instead of storing them, so that the only full-size
    tensors are the input and its gradient.
    """

    @staticmethod
    def forward(ctx, y: torch.Tensor, n: int, ops: _Operators) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.n, ctx.ops = n, ops
        height, width = y.shape[1:]
        rows, cols = height // n, width // n
        starts, step = _strips(y, rows, cols * n, n)
        plan = _plan(ops, min(step, rows) * n, cols * n)
        sums = []
        for r in starts:
            strip = y[:, r * n : min(r + step, rows) * n, : cols * n]
            gx = _apply(strip, *plan[0])
            gy = _apply(strip, *plan[1])
            b = _patch_sum(gx * gy, n)
            sums.append(torch.stack((_patch_sum(gx.square_(), n), b, _patch_sum(gy.square_(), n))))
        return torch.cat(sums, dim=2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (y,) = ctx.saved_tensors
        n = ctx.n
        batch, height, width = y.shape
        rows, cols = height // n, width // n
        exact = rows * n == height and cols * n == width
        grad_y = torch.empty_like(y) if exact else torch.zeros_like(y)
        starts, step = _strips(y, rows, cols * n, n)
        plan = _plan(ctx.ops, min(step, rows) * n, cols * n)
        adjoint = _plan(ctx.ops, min(step, rows) * n, cols * n, adjoint=True)
        for r in starts:
            end = min(r + step, rows)
            strip = y[:, r * n : end * n, : cols * n]
            gx = _apply(strip, *plan[0])
            gy = _apply(strip, *plan[1])
            ga, gb, gc = (_expand(g[:, r:end], n) for g in grad)
            gx4, gy4 = gx.view(batch, end - r, n, -1), gy.view(batch, end - r, n, -1)
            # d/dgx = 2·ga·gx + gb·gy ;  d/dgy = 2·gc·gy + gb·gx  (per patch)
            dgx = (gy4 * gb).addcmul_(gx4, ga, value=2.0).view_as(gx)
            dgy = gx4.mul_(gb).addcmul_(gy4, gc, value=2.0).view_as(gy)
            target = grad_y[:, r * n : end * n, : cols * n]
            target.copy_(_apply(dgx, *adjoint[0]))
            target.add_(_apply(dgy, *adjoint[1]))
        return grad_y, None, None


def structure_tensor(
    y: torch.Tensor, n: int, operator: str = "gradient"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Entries of ``GᵀG`` for every ``n x n`` patch, ``G = [gx(:) gy(:)]`` computed inside it.

    Patches are non-overlapping tiles from the top-left corner; an incomplete border
    row/column of tiles is dropped (and gets a zero gradient).

    Args:
        y: Grey images; the last two dimensions are height and width.
        n: Patch size.
        operator: ``"gradient"`` for ``numpy.gradient`` differences (central inside
            the patch, one-sided on its border) or ``"sobel"`` for 3x3 Sobel / 8 with
            reflect padding inside the patch.

    Returns:
        ``(Σ gx², Σ gx·gy, Σ gy²)`` per patch.

    Shape:
        ``(..., H, W) -> 3 x (..., H // n, W // n)``.

    Raises:
        ValueError: If the image is smaller than one patch or the operator is unknown.
    """
    height, width = y.shape[-2:]
    if height < n or width < n:
        raise ValueError(f"image of {height}x{width} pixels is smaller than one {n}x{n} patch")
    ops = _operators(n, operator, y.dtype, y.device)
    lead = y.shape[:-2]
    sums = _PatchStructureTensor.apply(y.reshape(-1, height, width), n, ops)
    return tuple(s.reshape(*lead, height // n, width // n) for s in sums.unbind(0))


def _guard(dtype: torch.dtype) -> float:
    """Eigenvalues at or below this (squared intensity units) are treated as zero."""
    return torch.finfo(dtype).eps ** 2


def safe_sqrt(v: torch.Tensor, floor: float) -> torch.Tensor:
    """``sqrt(v)`` where ``v > floor``, else 0, with a finite (zero) gradient there."""
    keep = v > floor
    return torch.where(keep, torch.sqrt(torch.where(keep, v, torch.ones_like(v))), 0.0)


def eigenvalues(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Closed-form eigenvalues of the symmetric positive semi-definite ``[[a, b], [b, c]]``.

    Returns:
        ``(λ1, λ2, λ1 - λ2)`` with ``λ1 >= λ2 >= 0`` (``λ2`` clamped at 0 against
        rounding). The gap is computed directly as ``2·sqrt(((a - c)/2)² + b²)``.

    Shape:
        Any shape, all the same.
    """
    floor = _guard(a.dtype)
    half_gap = safe_sqrt(((a - c) * 0.5) ** 2 + b * b, floor * floor)
    mean = (a + c) * 0.5
    return mean + half_gap, torch.clamp(mean - half_gap, min=0.0), 2.0 * half_gap


def singular_values(
    lam1: torch.Tensor, lam2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Singular values ``s1 >= s2`` of ``G`` and the coherence ``(s1 - s2) / (s1 + s2)``.

    The coherence is 0 where ``s1 + s2 = 0`` (a flat patch).

    Shape:
        Any shape, all the same.
    """
    floor = _guard(lam1.dtype)
    s1 = safe_sqrt(lam1, floor)
    s2 = safe_sqrt(lam2, floor)
    live = s1 > 0
    total = torch.where(live, s1 + s2, torch.ones_like(s1))
    return s1, s2, torch.where(live, (s1 - s2) / total, 0.0)


def zhu_milanfar_threshold(n: int, alpha: float) -> float:
    """Coherence threshold ``τ = sqrt((1 - a^(1/(N²-1))) / (1 + a^(1/(N²-1))))``."""
    k = alpha ** (1.0 / (n * n - 1))
    return math.sqrt((1.0 - k) / (1.0 + k))


def qsharpnet_threshold(n: int, alpha: float) -> float:
    """Threshold of the MMSP 2024 code ``τ' = sqrt((1 - a^(1/(N²-1))) / 2)``."""
    return math.sqrt((1.0 - alpha ** (1.0 / (n * n - 1))) / 2.0)


def check_patch_args(patch: int, alpha: float) -> None:
    """Validate a patch size (an integer >= 2) and a significance level in ``(0, 1)``.

    Raises:
        ValueError: Naming the bad argument.
    """
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 2:
        raise ValueError(f"patch size must be an integer >= 2, got {patch!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"significance alpha must be in (0, 1), got {alpha!r}")
