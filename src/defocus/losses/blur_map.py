"""The loss of a blur-map network: radius error in log scale plus defocus cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from defocus.blurmap.network import LOGIT, RADIUS
from defocus.losses.base import LOSSES, Loss
from defocus.losses.reduction import reduce_batch


def _masked_mean(values: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the ``known`` pixels of each image (0 where none is)."""
    weight = known.to(values.dtype)
    return (values * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1)


def blur_map_loss(
    raw: torch.Tensor,
    blur_map: torch.Tensor,
    defocus_mask: torch.Tensor,
    mask_weight: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Radius error in log scale plus the defocus cross-entropy, where each is known.

    The first term is ``|log(1 + r̂) - log(1 + r)|`` over the pixels whose radius is
    known, the second the binary cross-entropy of the defocus logit over the pixels
    whose mask is known, weighted by ``mask_weight``. The log scale makes a 1 px error
    at r = 1 count as much as a 10 px one at r = 19: radius errors are judged
    relatively, as blur is perceived.

    Args:
        raw: Output of a :class:`~defocus.blurmap.network.BlurMapNetwork`.
        blur_map: True radius in pixels, negative where unknown.
        defocus_mask: 1 defocused, 0 in focus, negative where unknown.
        mask_weight: Weight of the cross-entropy term.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per image).

    Returns:
        The loss; lower is better.

    Shape:
        ``(B, 2, H, W)``, ``(B, 1, H, W)``, ``(B, 1, H, W)`` -> ``()`` or ``(B,)``.
    """
    if raw.shape[1] != 2 or raw.shape[-2:] != blur_map.shape[-2:]:
        raise ValueError(
            f"expected a raw map (B, 2, H, W) and maps (B, 1, H, W); got {tuple(raw.shape)} "
            f"and {tuple(blur_map.shape)}"
        )
    raw = raw.float()
    known_radius = blur_map >= 0
    target = torch.log1p(blur_map.clamp_min(0))
    radius_term = _masked_mean((raw[:, RADIUS : RADIUS + 1] - target).abs(), known_radius)
    known_mask = defocus_mask >= 0
    entropy = F.binary_cross_entropy_with_logits(
        raw[:, LOGIT : LOGIT + 1], defocus_mask.clamp(0, 1), reduction="none"
    )
    return reduce_batch(radius_term + mask_weight * _masked_mean(entropy, known_mask), reduction)


@LOSSES.register("blur-map")
class BlurMapLoss(Loss):
    """Module form of :func:`blur_map_loss`, registered as the ``"blur-map"`` loss.

    Args:
        mask_weight: Weight of the defocus cross-entropy.
        reduction: As for :func:`blur_map_loss`.
    """

    inputs = ("restored", "blur_map", "defocus_mask")

    def __init__(self, mask_weight: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.mask_weight = float(mask_weight)

    def forward(
        self, raw: torch.Tensor, blur_map: torch.Tensor, defocus_mask: torch.Tensor
    ) -> torch.Tensor:
        """See :func:`blur_map_loss`."""
        return blur_map_loss(raw, blur_map, defocus_mask, self.mask_weight, self.reduction)
