"""The common interface of every loss and the loss registry.

A loss is lower-is-better and declares, like a metric, which images it needs: its
``forward`` takes the images named in :attr:`Loss.inputs`, positionally, in that order.
The trainer hands each loss exactly what it declares (see
:class:`~defocus.losses.composite.CompositeLoss`), from these roles:

``restored``   the network's output ``(B, C, H, W)``;
``reference``  the sharp ground truth ``(B, C, H, W)``;
``blurry``     the network's input ``(B, C, H, W)``;
``psf``        the degradation's PSF ``(B, 1, h, w)``;
``blur_map``   the ground-truth per-pixel blur radius in pixels ``(B, 1, H, W)``.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from defocus.losses.reduction import check_reduction
from defocus.registry import Registry

ROLES: tuple[str, ...] = ("restored", "reference", "blurry", "psf", "blur_map")
"""The images a loss can ask for (see the module docstring)."""


class Loss(nn.Module):
    """Base class of the losses: a reduction and the declared inputs.

    Args:
        reduction: ``"mean"`` (over the batch), ``"sum"`` or ``"none"`` (per image).

    Attributes:
        inputs: The roles (:data:`ROLES`) ``forward`` takes, in order.
    """

    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)


LOSSES: Registry[Loss] = Registry("loss")
"""Registered losses; add one with ``@LOSSES.register("name")`` on its class."""
