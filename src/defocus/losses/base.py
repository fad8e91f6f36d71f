"""The common interface of every loss and the loss registry.

A loss is lower-is-better and declares, like a metric, which images it needs: its
``forward`` takes the images named in :attr:`Loss.inputs`, positionally, in that order.
The trainer hands each loss exactly what it declares (see
:class:`~defocus.losses.composite.CompositeLoss`), from these roles:

``restored``   the network's output ``(B, C, H, W)``;
``reference``  the sharp ground truth ``(B, C, H, W)``;
``blurry``     the network's input ``(B, C, H, W)``;
``psf``        the degradation's PSF ``(B, 1, h, w)``;
``blur_map``   the ground-truth per-pixel blur radius in pixels ``(B, 1, H, W)``;
               negative where it is unknown (photos with only a defocus mask);
``defocus_mask`` 1 where a pixel is out of focus, 0 where in focus, negative where
               unknown ``(B, 1, H, W)``.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from torch import nn

from defocus.losses.reduction import check_reduction
from defocus.registry import Registry

ROLES: tuple[str, ...] = (
    "restored",
    "reference",
    "blurry",
    "psf",
    "blur_map",
    "defocus_mask",
)
"""The images a loss can ask for (see the module docstring)."""


class Loss(nn.Module, abc.ABC):
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


class NetworkLoss(Loss):
    """A loss computed through a network of its own (e.g. the reblurring module ``M_R``).

    In training, such a network can be one that the same stage trains alongside the
    main model (a ``[[stages.networks]]`` entry of the recipe): a loss term naming it
    with ``network = "<name>"`` gets that network through :meth:`bind_network`.
    """

    @abc.abstractmethod
    def bind_network(self, network: nn.Module) -> None:
        """Compute the loss through ``network`` from now on."""


LOSSES: Registry[Loss] = Registry("loss")
"""Registered losses; add one with ``@LOSSES.register("name")`` on its class."""
