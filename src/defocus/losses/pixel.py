"""Pixel-wise fidelity losses: L1, Charbonnier, and L1 relative to the input's."""

from __future__ import annotations

import torch

from defocus.losses.base import LOSSES, Loss
from defocus.losses.reduction import reduce_batch, reduce_per_image
from defocus.metrics.base import check_images

CHARBONNIER_EPS = 1e-3
"""Default ε of the Charbonnier loss (in [0, 1] intensity units)."""
RELATIVE_FLOOR = 5e-3
"""Default floor of :func:`relative_l1_loss`'s denominator (about the mean absolute
noise of σ = 0.006): an input that is already sharp is not a division by ~0."""


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


def relative_l1_loss(
    restored: torch.Tensor,
    reference: torch.Tensor,
    blurry: torch.Tensor,
    floor: float = RELATIVE_FLOOR,
    reduction: str = "mean",
) -> torch.Tensor:
    """L1 error of each image relative to its input's: ``L1(restored) / (L1(blurry) + floor)``.

    1 means "as far from the reference as the input", below 1 better. Every image
    weighs the same whatever its blur: a crop already in focus (small denominator)
    is not allowed to be damaged for the sake of a heavily blurred one, whose absolute
    error would otherwise dominate a plain L1 mean.

    Args:
        restored: Network output.
        reference: Sharp ground truth.
        blurry: The network's input.
        floor: Added to the input's error (intensity units).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.

    Shape:
        All :math:`(B, C, H, W)`; output :math:`()` or :math:`(B,)`; lower is better.
    """
    check_images(restored, reference, finite=False)
    check_images(blurry, reference, finite=False)
    errors = (restored - reference).abs().flatten(1).mean(1)
    baseline = (blurry - reference).abs().flatten(1).mean(1).detach() + floor
    return reduce_batch(errors / baseline, reduction)


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


@LOSSES.register("relative-l1")
class RelativeL1Loss(Loss):
    """Module form of :func:`relative_l1_loss` (``floor``, ``reduction`` as there).

    Shape:
        As for :func:`relative_l1_loss`.
    """

    inputs = ("restored", "reference", "blurry")

    def __init__(self, floor: float = RELATIVE_FLOOR, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.floor = floor

    def forward(
        self, restored: torch.Tensor, reference: torch.Tensor, blurry: torch.Tensor
    ) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return relative_l1_loss(restored, reference, blurry, self.floor, self.reduction)
