"""Reblurring losses (Nah et al., "Clean images are hard to reblur", ICCV 2021).

A reblurring module ``M_R`` (:class:`defocus.models.reblur.ReblurModule`) learns to
amplify the blur left in a deblurred image ``L = M_D(B)``; a sharp image stays
unchanged. Its training loss is :func:`reblur_module_loss`; the deblurrer ``M_D`` then
gets :func:`reblur_loss` (supervised) or :func:`self_reblur_loss` (no sharp image, also
used for test-time adaptation by :mod:`defocus.infer.adapt`). ``M_R`` and ``M_D`` are
updated in alternation, each with the other frozen: the deblurrer's losses here freeze
``M_R`` themselves, and :func:`reblur_module_loss` detaches ``L``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from defocus.losses.base import LOSSES, NetworkLoss
from defocus.losses.pixel import l1_loss
from defocus.models.reblur import ReblurModule, frozen
from defocus.models.registry import load_weights, resolve_weights


def reblur_module_loss(
    reblur: nn.Module,
    restored: torch.Tensor,
    sharp: torch.Tensor,
    blurry: torch.Tensor,
    reduction: str = "mean",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Training loss of ``M_R``: ``L_blur + L_sharp``.

    ``L_blur = ||M_R(sg(L)) - B||_1`` (amplify the remaining blur back to the blurry
    input) and ``L_sharp = ||M_R(S) - S||_1`` (leave sharp images alone). ``L`` is
    detached, so no gradient reaches the deblurrer.

    Args:
        reblur: The reblurring module ``M_R``.
        restored: Deblurred images ``L``.
        sharp: Sharp images ``S``.
        blurry: Blurry inputs ``B``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The total and ``{"blur": L_blur, "sharp": L_sharp}``.

    Shape:
        - restored, sharp, blurry: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    blur = l1_loss(reblur(restored.detach()), blurry, reduction)
    keep = l1_loss(reblur(sharp), sharp, reduction)
    return blur + keep, {"blur": blur, "sharp": keep}


def reblur_loss(
    reblur: nn.Module, restored: torch.Tensor, sharp: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Supervised reblurring loss ``||M_R(L) - M_R(S)||_1`` for the deblurrer.

    ``M_R`` is frozen (no gradient reaches its parameters); gradients flow through it
    to ``L``. Add it to the pixel loss with a weight (1 in the paper).

    Shape:
        - restored, sharp: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    with frozen(reblur):
        reblurred = reblur(restored)
        with torch.no_grad():
            target = reblur(sharp)
    return l1_loss(reblurred, target, reduction)


def self_reblur_loss(
    reblur: nn.Module, restored: torch.Tensor, reduction: str = "mean", margin: int = 0
) -> torch.Tensor:
    """Self-supervised reblurring loss ``||M_R(L) - sg(L)||_1`` (no sharp image needed).

    ``M_R`` is frozen and the target ``L`` is detached, so the deblurrer is pushed
    towards outputs that ``M_R`` cannot blur further.

    Args:
        reblur: The reblurring module ``M_R``.
        restored: Deblurred images ``L``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        margin: Pixels at each border left out of the loss (where ``M_R`` and the
            deblurrer see their zero padding, e.g. on crops of a photo).

    Shape:
        - restored: :math:`(B, C, H, W)`, ``H`` and ``W`` larger than ``2 * margin``.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """
    height, width = restored.shape[-2:]
    if margin < 0 or min(height, width) <= 2 * margin:
        raise ValueError(f"margin {margin} leaves nothing of a {width}x{height} image")
    inner = (..., slice(margin, height - margin), slice(margin, width - margin))
    with frozen(reblur):
        return l1_loss(reblur(restored)[inner], restored.detach()[inner], reduction)


def reblur_step(
    reblur: nn.Module,
    optimizer: torch.optim.Optimizer,
    restored: torch.Tensor,
    sharp: torch.Tensor,
    blurry: torch.Tensor,
) -> dict[str, float]:
    """One optimiser step of ``M_R`` on :func:`reblur_module_loss` (the deblurrer is untouched).

    Returns:
        ``{"loss": ..., "blur": ..., "sharp": ...}`` as floats, for logging.
    """
    optimizer.zero_grad(set_to_none=True)
    total, terms = reblur_module_loss(reblur, restored, sharp, blurry)
    total.backward()
    optimizer.step()
    return {"loss": total.item(), **{name: value.item() for name, value in terms.items()}}


class ReblurLossBase(NetworkLoss):
    """Base of the reblurring loss modules: holds ``M_R``, frozen whenever it is used.

    Args:
        in_channels: Image channels C of ``M_R``.
        pretrained: Safetensors weights of a trained ``M_R`` (a path); ``None`` keeps
            the random initialisation (only useful when ``M_R`` is trained alongside,
            e.g. with :func:`reblur_step` on ``loss.reblur``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        **module_options: ``features``, ``blocks``, ``kernel_size`` of ``M_R``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        pretrained: str | Path | None = None,
        reduction: str = "mean",
        **module_options: int,
    ) -> None:
        super().__init__(reduction)
        self.reblur: nn.Module = ReblurModule(in_channels, **module_options)
        if pretrained is not None:
            load_weights(self.reblur, resolve_weights(pretrained))

    def bind_network(self, network: nn.Module) -> None:
        """Use ``network`` as ``M_R`` (e.g. the one the stage trains alongside)."""
        self.reblur = network


@LOSSES.register("reblur")
class ReblurLoss(ReblurLossBase):
    """Module form of :func:`reblur_loss`, registered as the ``"reblur"`` loss.

    Takes the arguments of :class:`ReblurLossBase`.

    Shape:
        - restored, reference: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return reblur_loss(self.reblur, restored, reference, self.reduction)


@LOSSES.register("reblur-module")
class ReblurModuleLoss(ReblurLossBase):
    """Module form of :func:`reblur_module_loss`, the ``"reblur-module"`` loss of ``M_R``.

    The training objective of the reblurring module itself (``L_blur + L_sharp``);
    in a recipe it is the loss of a ``[[stages.networks]]`` entry that trains ``M_R``
    and binds it with ``network = "<that entry's name>"``. Takes the arguments of
    :class:`ReblurLossBase`.

    Shape:
        - restored, reference, blurry: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """

    inputs = ("restored", "reference", "blurry")

    def forward(
        self, restored: torch.Tensor, reference: torch.Tensor, blurry: torch.Tensor
    ) -> torch.Tensor:
        """``L_blur + L_sharp`` (``restored`` is detached: only ``M_R`` learns)."""
        return reblur_module_loss(self.reblur, restored, reference, blurry, self.reduction)[0]


@LOSSES.register("self-reblur")
class SelfReblurLoss(ReblurLossBase):
    """Module form of :func:`self_reblur_loss`, registered as the ``"self-reblur"`` loss.

    Takes the arguments of :class:`ReblurLossBase`.

    Shape:
        - restored: :math:`(B, C, H, W)`.
        - Output: :math:`()` or :math:`(B,)` for ``reduction="none"``.
    """

    inputs = ("restored",)

    def forward(self, restored: torch.Tensor) -> torch.Tensor:
        """Compute the loss (see the class docstring for shapes)."""
        return self_reblur_loss(self.reblur, restored, self.reduction)
