"""Training losses; every loss is lower-is-better."""

from defocus.losses.base import LOSSES, ROLES, Loss, NetworkLoss
from defocus.losses.blur_map import BlurMapLoss, blur_map_loss
from defocus.losses.composite import CompositeLoss
from defocus.losses.frequency import FrequencyLoss, frequency_loss
from defocus.losses.pixel import CharbonnierLoss, L1Loss, charbonnier_loss, l1_loss
from defocus.losses.reblur import (
    ReblurLoss,
    ReblurModuleLoss,
    SelfReblurLoss,
    reblur_loss,
    reblur_module_loss,
    reblur_step,
    self_reblur_loss,
)
from defocus.losses.registry import create_loss, list_losses, loss_inputs
from defocus.losses.sharpness import SharpnessLoss, sharpness_loss

__all__ = [
    "LOSSES",
    "ROLES",
    "BlurMapLoss",
    "CharbonnierLoss",
    "CompositeLoss",
    "FrequencyLoss",
    "L1Loss",
    "Loss",
    "NetworkLoss",
    "ReblurLoss",
    "ReblurModuleLoss",
    "SelfReblurLoss",
    "SharpnessLoss",
    "blur_map_loss",
    "charbonnier_loss",
    "create_loss",
    "frequency_loss",
    "l1_loss",
    "list_losses",
    "loss_inputs",
    "reblur_loss",
    "reblur_module_loss",
    "reblur_step",
    "self_reblur_loss",
    "sharpness_loss",
]
