"""Working domains of the Fourier solvers: the image extended so that the blur is periodic.

A Fourier solver (Wiener, RED's fixed point, GCV) needs a blur that is diagonal in the
DFT, i.e. circular. It works on a *domain*: the observed image extended by a boundary
model (:mod:`defocus.operators.boundary`), on which the blur is taken as circular, and
crops the result back. How well that models the image's own boundary depends on the
domain:

- ``"circular"``: the image itself, no extension (periodic boundaries, the textbook
  setting and scikit-image's);
- ``"mirror"``: the image and its reflect-101 mirror images, ``(2H - 2, 2W - 2)``: the
  circular blur there *is* the ``"reflect-101"`` blur of the image for PSFs symmetric
  in each axis (disk, box, Gaussian), so the solve is exact, at 4x the FFT work;
- ``"symmetric"``: the image and its half-sample mirror images, ``(2H, 2W)``: likewise
  exact for the ``"symmetric"`` boundary (what the DCT-II diagonalises);
- ``"reflect-101"`` (or ``"reflect"``), ``"replicate"``, ``"zeros"``: margins of one
  PSF size on each side (grown to a fast FFT length) filled by that boundary model;
  the periodic wrap-around happens in the margin, which is cropped away. Approximate,
  cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from defocus.operators.boundary import ALIASES, BOUNDARIES, Boundary, boundary_name, extend
from defocus.operators.fourier import fast_size

DOMAINS: tuple[str, ...] = ("mirror", *BOUNDARIES, *ALIASES)
"""Accepted working domains (see the module docstring)."""


@dataclass(frozen=True)
class Domain:
    """Where a Fourier solver computes: the image plus margins filled by a boundary model.

    Attributes:
        boundary: Boundary model filling the margins.
        top: Rows added above the image.
        bottom: Rows added below.
        left: Columns added on the left.
        right: Columns added on the right.
    """

    boundary: Boundary
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @classmethod
    def for_psf(cls, image_size: tuple[int, int], psf_size: tuple[int, int], name: str) -> Domain:
        """The working domain called ``name`` (see the module docstring) for an image and PSF.

        Args:
            image_size: ``(H, W)`` of the observed image.
            psf_size: ``(h, w)`` of the PSF.
            name: One of :data:`DOMAINS`.

        Raises:
            ValueError: For an unknown name.
        """
        (height, width), (h, w) = image_size, psf_size
        if name == "mirror":
            return cls("reflect-101", 0, max(height - 2, 0), 0, max(width - 2, 0))
        if name not in DOMAINS:
            raise ValueError(f"padding must be one of {', '.join(DOMAINS)}; got {name!r}")
        boundary = boundary_name(name)
        if boundary == "circular":
            return cls(boundary)
        if boundary == "symmetric":
            return cls(boundary, 0, height, 0, width)
        bottom = fast_size(height + 2 * h) - height - h
        right = fast_size(width + 2 * w) - width - w
        return cls(boundary, h, bottom, w, right)

    def size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """``(H, W)`` of the domain for an image of ``image_size``."""
        return (
            int(image_size[0]) + self.top + self.bottom,
            int(image_size[1]) + self.left + self.right,
        )

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Extend images to the domain.

        Shape:
            ``(..., H, W) -> (..., H + top + bottom, W + left + right)``.
        """
        if not any((self.top, self.bottom, self.left, self.right)):
            return x
        return extend(x, self.top, self.bottom, self.left, self.right, self.boundary)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Cut the image region out of a domain-sized tensor (inverse of :meth:`pad`).

        Shape:
            ``(..., H + top + bottom, W + left + right) -> (..., H, W)``.
        """
        height, width = x.shape[-2:]
        return x[..., self.top : height - self.bottom, self.left : width - self.right]
