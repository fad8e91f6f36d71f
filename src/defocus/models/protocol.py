"""The deblurrer protocol: what every restoration network states about itself.

A :class:`Deblurrer` maps blurry images ``(B, C, H, W)`` to restored ones of the same
shape and declares, as attributes set by its constructor:

- ``in_channels``: 1 (it restores luma) or 3 (RGB);
- ``multiple``: its total down-sampling; tiled inference starts tiles at multiples of
  it, so that tiled and whole-image outputs agree;
- ``context``: pixels of input (or features) its local stage reads beyond a tile.

A :class:`TwoStageDeblurrer` is split into a global stage without tiling,
:meth:`~TwoStageDeblurrer.prepare` (e.g. a blur estimate and Wiener deconvolutions,
which depend on the whole image), and a local one, :meth:`~TwoStageDeblurrer.fuse`,
that :func:`defocus.infer.deblur` tiles. Inference code asks ``isinstance``, never
``hasattr``. A network that is not a :class:`Deblurrer` (any ``nn.Module`` a user
brings) is adapted once by :func:`as_deblurrer`.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

from defocus.errors import DefocusError
from defocus.registry import Registry

DEFAULT_MULTIPLE = 16
"""Tile alignment assumed for plain modules adapted by :func:`as_deblurrer`.

Right for any network down-sampling up to 16 times (TinyUNet: 2, XY-Deblur: 4)."""


class Deblurrer(nn.Module):
    """Base class of restoration networks (see the module docstring).

    Args:
        in_channels: 1 (luma) or 3 (RGB).
        multiple: Total down-sampling factor (tile alignment), at least 1.
        context: Pixels the local stage reads around a tile, at least 0.

    Raises:
        ValueError: For values outside those ranges.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``, ``C = in_channels``.
    """

    def __init__(self, in_channels: int, multiple: int = 1, context: int = 0) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        if multiple < 1 or context < 0:
            raise ValueError(f"need multiple >= 1 and context >= 0, got {multiple}, {context}")
        self.in_channels = int(in_channels)
        self.multiple = int(multiple)
        self.context = int(context)


class TwoStageDeblurrer(Deblurrer, abc.ABC):
    """A deblurrer split into a global :meth:`prepare` and a tiled local :meth:`fuse`.

    ``forward(x) == fuse(prepare(x))``; ``fuse`` of a tile of ``prepare``'s output with
    ``context`` pixels around it equals the same region of the whole-image result.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    @abc.abstractmethod
    def prepare(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The whole-image stage: features ``(B, F, H, W)`` stored in ``dtype`` if given."""

    @abc.abstractmethod
    def fuse(self, features: torch.Tensor) -> torch.Tensor:
        """The local stage: restored images ``(B, C, H, W)`` from (tiles of) features."""

    def defocus_probability(self, features: torch.Tensor) -> torch.Tensor | None:
        """The probability that each pixel is out of focus, where the features carry one.

        Test-time adaptation (:mod:`defocus.infer.adapt`) holds in-focus pixels to the
        un-adapted output with it. The default: ``None``, no such estimate.

        Shape:
            ``(B, F, h, w)`` features or a crop of them -> ``(B, 1, h, w)``.
        """
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Restore ``x``: :meth:`fuse` of :meth:`prepare`."""
        return self.fuse(self.prepare(x))


class ModuleDeblurrer(Deblurrer):
    """A plain ``nn.Module`` restoration network with the protocol stated for it.

    ``in_channels`` is read once from its first convolution; ``multiple`` is
    :data:`DEFAULT_MULTIPLE`; it has no separate stages.

    Args:
        network: Maps ``(B, C, H, W)`` to ``(B, C, H, W)``.

    Raises:
        DefocusError: If the network has no convolution taking 1 or 3 channels.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, network: nn.Module) -> None:
        first = next((m for m in network.modules() if isinstance(m, nn.Conv2d)), None)
        if first is None or first.in_channels not in (1, 3):
            name = type(network).__name__
            raise DefocusError(f"cannot tell whether {name} takes 1 or 3 channels")
        super().__init__(first.in_channels, DEFAULT_MULTIPLE)
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the wrapped network."""
        return self.network(x)


def as_deblurrer(model: nn.Module) -> Deblurrer:
    """``model`` itself if it is a :class:`Deblurrer`, else wrapped in :class:`ModuleDeblurrer`."""
    return model if isinstance(model, Deblurrer) else ModuleDeblurrer(model)


MODELS: Registry[Deblurrer] = Registry("model")
"""Registered networks; add one with ``@MODELS.register("name")`` on its class."""
