"""The frequency-domain loss of EHNet."""

from __future__ import annotations

import torch

from defocus.losses.base import LOSSES, Loss
from defocus.losses.reduction import reduce_per_image
from defocus.metrics.base import check_images


def frequency_loss(
    restored: torch.Tensor, reference: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Mean modulus of the difference of 2-D spectra, ``mean |FFT2(restored) - FFT2(reference)|``.

    The FFT is taken per channel over (H, W) without normalisation (``torch.fft.fft2``
    default, as in EHNet's training), so values scale with ``sqrt(H W)`` for white
    differences; the mean runs over channels and all H x W frequency bins. The
    modulus of the complex difference is used (not ``|Re| + |Im|``). EHNet trains
    with ``L1 + 0.1 · frequency``.

    Args:
        restored: Network output.
        reference: Sharp ground truth.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per image).

    Returns:
        The loss; lower is better.

    Shape:
        - restored, reference: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    check_images(restored, reference, finite=False)
    difference = restored - reference
    if difference.dtype in (torch.float16, torch.bfloat16):
        difference = difference.float()  # half-precision FFTs are limited to powers of 2
    return reduce_per_image(torch.fft.fft2(difference).abs(), reduction)


@LOSSES.register("frequency")
class FrequencyLoss(Loss):
    """Module form of :func:`frequency_loss` (``reduction`` as there).

    Shape:
        As for :func:`frequency_loss`.
    """

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return frequency_loss(restored, reference, self.reduction)
