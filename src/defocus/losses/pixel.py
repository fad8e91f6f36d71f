"""Pixel-wise fidelity losses: L1 and Charbonnier."""

from __future__ import annotations

import torch

from defocus.losses.base import LOSSES, Loss
from defocus.losses.reduction import reduce_per_image
from defocus.metrics.base import check_images

CHARBONNIER_EPS = 1e-3
"""Default ε of the Charbonnier loss (in [0, 1] intensity units)."""


def l1_loss(
    restored: torch.Tensor, reference: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Mean absolute error ``mean |restored - reference|``.

    Args:
        restored: Network output.
        reference: Sharp ground truth.
        reduction: ``"mean"`` (over the batch), ``"sum"`` (over the batch) or ``"none"``
            (one value per image, each a mean over C, H, W).

    Returns:
        The loss; lower is better.

    Shape:
        - restored, reference: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    check_images(restored, reference, finite=False)
    return reduce_per_image((restored - reference).abs(), reduction)


def charbonnier_loss(
    restored: torch.Tensor,
    reference: torch.Tensor,
    eps: float = CHARBONNIER_EPS,
    reduction: str = "mean",
) -> torch.Tensor:
    """Charbonnier loss ``mean sqrt((restored - reference)² + ε²)``, a smooth L1.

    It tends to ``|d|`` for ``|d| >> ε`` and is differentiable at 0 (its value there is
    ε, so a perfect restoration scores ε, not 0).

    Args:
        restored: Network output.
        reference: Sharp ground truth.
        eps: ε, in intensity units of the [0, 1] scale (default 1e-3).
        reduction: As for :func:`l1_loss`.

    Shape:
        As for :func:`l1_loss`; lower is better.
    """
    check_images(restored, reference, finite=False)
    return reduce_per_image(torch.sqrt((restored - reference).square() + eps**2), reduction)


@LOSSES.register("l1")
class L1Loss(Loss):
    """Module form of :func:`l1_loss` (``reduction`` as there).

    Shape:
        As for :func:`l1_loss`.
    """

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return l1_loss(restored, reference, self.reduction)


@LOSSES.register("charbonnier")
class CharbonnierLoss(Loss):
    """Module form of :func:`charbonnier_loss` (``eps``, ``reduction`` as there).

    Shape:
        As for :func:`l1_loss`.
    """

    def __init__(self, eps: float = CHARBONNIER_EPS, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.eps = eps

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return charbonnier_loss(restored, reference, self.eps, self.reduction)
