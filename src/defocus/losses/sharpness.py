"""Sharpness loss ``-Q`` (Aurangabadkar et al., MMSP 2024): lower is sharper."""

from __future__ import annotations

import torch

from defocus.losses.base import LOSSES, Loss
from defocus.losses.reduction import check_reduction, reduce_batch
from defocus.metrics.sharpness import check_q_args, sharpness_q


def sharpness_loss(
    restored: torch.Tensor,
    patch: int = 8,
    alpha: float = 0.001,
    variant: str = "zhu-milanfar",
    reduction: str = "mean",
    clip: bool = True,
) -> torch.Tensor:
    """Negative sharpness ``-Q`` of the restored images (no reference needed).

    Q grows without bound with contrast, and a network's raw output is not limited to
    ``[0, 1]``: fine-tuning on the raw output drives it far outside the range (measured:
    outputs spanning -3.5..5.8 and a 2.4 dB PSNR loss at β = 0.1). With ``clip=True``
    (default) Q is taken of the output clipped to ``[0, 1]``, i.e. of the image that is
    actually saved, so pushing values out of range earns no sharpness; the gradient
    of clipped pixels is left to the fidelity term.

    Gradients are finite everywhere, also on flat, saturated or noisy images (see
    :func:`defocus.metrics.sharpness.sharpness_q`). ``variant="qsharpnet"`` is the
    form the MMSP 2024 authors trained with.

    Args:
        restored: Network output in ``[0, 1]``, 1 or 3 channels.
        patch: Patch size of Q.
        alpha: Significance level of Q's anisotropy test.
        variant: ``"zhu-milanfar"`` or ``"qsharpnet"``.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"``.
        clip: Measure Q on ``restored.clamp(0, 1)``.

    Returns:
        The loss; lower is better (sharper).

    Shape:
        - restored: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    check_reduction(reduction)
    if clip:
        restored = restored.clamp(0.0, 1.0)
    return reduce_batch(-sharpness_q(restored, patch, alpha, variant), reduction)


@LOSSES.register("sharpness")
class SharpnessLoss(Loss):
    """Module form of :func:`sharpness_loss`; called with the restored images only.

    Args:
        patch: Patch size of Q.
        alpha: Significance level of Q's anisotropy test.
        variant: ``"zhu-milanfar"`` or ``"qsharpnet"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        clip: Measure Q on the output clipped to ``[0, 1]`` (see :func:`sharpness_loss`).

    Shape:
        ``(B, C, H, W) -> ()``, or ``(B,)`` for ``reduction="none"``.
    """

    inputs = ("restored",)

    def __init__(
        self,
        patch: int = 8,
        alpha: float = 0.001,
        variant: str = "zhu-milanfar",
        reduction: str = "mean",
        clip: bool = True,
    ) -> None:
        super().__init__(reduction)
        check_q_args(patch, alpha, variant)
        self.patch, self.alpha, self.variant, self.clip = patch, alpha, variant, clip

    def forward(self, restored: torch.Tensor) -> torch.Tensor:
        """``-Q`` of the restored images, reduced."""
        return sharpness_loss(
            restored, self.patch, self.alpha, self.variant, self.reduction, self.clip
        )
