"""Boundary models: how an image is continued beyond its edges, one name and one rule each.

========================  ==========================================  ==================
name                      samples beyond the edge ``... | a b c``     also called
========================  ==========================================  ==================
``"reflect-101"``         ``c b | a b c | b a`` (edge not repeated)   torch/NumPy
                                                                      ``reflect``, scipy
                                                                      ``mirror``, OpenCV
                                                                      ``REFLECT_101``
``"symmetric"``           ``b a | a b c | c b`` (half-sample)         scipy ``reflect``,
                                                                      NumPy
                                                                      ``symmetric``, the
                                                                      DCT-II's boundary
``"replicate"``           ``a a | a b c | c c``                       scipy ``nearest``
``"circular"``            ``b c | a b c | a b`` (periodic)            scipy ``wrap``, the
                                                                      DFT's boundary
``"zeros"``               ``0 0 | a b c | 0 0``                       scipy ``constant``
========================  ==========================================  ==================

``"reflect"`` is accepted as another name of ``"reflect-101"`` (the name torch and
earlier versions of this project use). Every extension here is a gather of image
samples (an index map, :func:`boundary_indices`); its adjoint (:func:`extend_adjoint`)
adds every extended sample back onto the image sample it copies, which is what makes
blur operators with any boundary exactly adjointable.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Boundary = Literal["reflect-101", "symmetric", "replicate", "circular", "zeros"]
BOUNDARIES: tuple[str, ...] = ("reflect-101", "symmetric", "replicate", "circular", "zeros")
ALIASES = {"reflect": "reflect-101"}
"""Other accepted names of a boundary."""
_TORCH_PAD = {"reflect-101": "reflect", "replicate": "replicate", "circular": "circular"}


def boundary_name(name: str) -> Boundary:
    """The canonical name of a boundary model (aliases resolved).

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    canonical = ALIASES.get(name, name)
    if canonical not in BOUNDARIES:
        known = ", ".join((*BOUNDARIES, *ALIASES))
        raise ValueError(f"boundary must be one of {known}; got {name!r}")
    return canonical  # type: ignore[return-value]


def boundary_indices(idx: torch.Tensor, n: int, boundary: str) -> torch.Tensor:
    """Map indices that may fall outside ``[0, n)`` to the image sample the boundary reads.

    Works for indices arbitrarily far outside (reflections fold back and forth).

    Args:
        idx: Integer positions along an axis of length ``n``.
        n: Axis length.
        boundary: Any boundary but ``"zeros"`` (whose outside samples read nothing).

    Returns:
        Indices in ``[0, n)``, same shape as ``idx``.
    """
    boundary = boundary_name(boundary)
    if boundary == "circular":
        return idx.remainder(n)
    if boundary == "replicate":
        return idx.clamp(0, n - 1)
    if boundary == "symmetric":
        idx = idx.remainder(2 * n)
        return torch.where(idx >= n, 2 * n - 1 - idx, idx)
    if boundary != "reflect-101":
        raise ValueError(f"no index map for boundary {boundary!r}")
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = idx.remainder(period)
    return torch.where(idx >= n, period - idx, idx)


def _axis_map(n: int, before: int, after: int, boundary: str, device: torch.device):
    """Extended positions along one axis and the image samples they read.

    Returns ``(kept, source)``: the positions of the extended axis that read a sample
    (all of them but the outside ones of ``"zeros"``) and the sample each reads.
    """
    positions = torch.arange(-before, n + after, device=device)
    if boundary == "zeros":
        inside = (positions >= 0) & (positions < n)
        kept = inside.nonzero().squeeze(1)
        return kept, positions[kept]
    return torch.arange(len(positions), device=device), boundary_indices(positions, n, boundary)


def rows_through(x: torch.Tensor, start: int, stop: int, boundary: str) -> torch.Tensor:
    """Rows ``start .. stop - 1`` of images, those outside read through the boundary.

    The rows of ``extend(x, top, bottom, 0, 0, boundary)`` that a band of the image
    needs, without extending the whole image.

    Shape:
        ``(..., H, W) -> (..., stop - start, W)``.
    """
    boundary = boundary_name(boundary)
    height = x.shape[-2]
    rows = torch.arange(start, stop, device=x.device)
    if boundary != "zeros":
        return x.index_select(-2, boundary_indices(rows, height, boundary))
    inside = rows[(rows >= 0) & (rows < height)]
    above = int((rows < 0).sum())
    band = x.index_select(-2, inside)
    return F.pad(band, (0, 0, above, len(rows) - len(inside) - above))


def extend(
    x: torch.Tensor, top: int, bottom: int, left: int, right: int, boundary: str = "reflect-101"
) -> torch.Tensor:
    """Continue images beyond their edges by the given widths with a boundary model.

    Unlike :func:`torch.nn.functional.pad`, widths may exceed the image for every model.

    Args:
        x: Images.
        top: Rows added above.
        bottom: Rows added below.
        left: Columns added on the left.
        right: Columns added on the right.
        boundary: A boundary model (see the module docstring).

    Returns:
        The extended images.

    Shape:
        ``(..., H, W) -> (..., H + top + bottom, W + left + right)``.
    """
    boundary = boundary_name(boundary)
    if boundary == "zeros":
        return F.pad(x, (left, right, top, bottom))
    height, width = x.shape[-2:]
    fits = max(top, bottom) < height and max(left, right) < width
    mode = _TORCH_PAD.get(boundary)
    if mode is not None and (fits or mode == "replicate") and x.ndim in (3, 4):
        return F.pad(x, (left, right, top, bottom), mode=mode)  # torch's fast kernels
    rows = boundary_indices(torch.arange(-top, height + bottom, device=x.device), height, boundary)
    cols = boundary_indices(torch.arange(-left, width + right, device=x.device), width, boundary)
    return x.index_select(-2, rows).index_select(-1, cols)


def extend_adjoint(
    z: torch.Tensor, top: int, bottom: int, left: int, right: int, boundary: str = "reflect-101"
) -> torch.Tensor:
    """The adjoint of :func:`extend`: each extended sample added onto the sample it copies.

    ``<extend(x), z> == <x, extend_adjoint(z)>`` for all ``x`` and ``z``.

    Args:
        z: Extended images.
        top: Rows that :func:`extend` added above.
        bottom: Rows added below.
        left: Columns added on the left.
        right: Columns added on the right.
        boundary: The boundary model of the extension.

    Returns:
        Images of the original size.

    Shape:
        ``(..., H + top + bottom, W + left + right) -> (..., H, W)``.
    """
    boundary = boundary_name(boundary)
    height = z.shape[-2] - top - bottom
    width = z.shape[-1] - left - right
    kept, source = _axis_map(width, left, right, boundary, z.device)
    out = z.new_zeros(*z.shape[:-1], width).index_add_(-1, source, z.index_select(-1, kept))
    kept, source = _axis_map(height, top, bottom, boundary, z.device)
    rows = out.index_select(-2, kept)
    return out.new_zeros(*out.shape[:-2], height, width).index_add_(-2, source, rows)
