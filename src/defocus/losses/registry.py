"""The loss registry: build losses by name from the CLI and configs."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from defocus.losses.frequency import FrequencyLoss
from defocus.losses.pixel import CharbonnierLoss, L1Loss
from defocus.losses.reblur import ReblurLoss, SelfReblurLoss
from defocus.losses.sharpness import SharpnessLoss
from defocus.registry import Registry

LOSSES: Registry[nn.Module] = Registry("loss")

FULL_REFERENCE = ("restored", "reference")
NO_REFERENCE = ("restored",)
_INPUTS: dict[str, tuple[str, ...]] = {}


def register_loss(
    name: str, inputs: tuple[str, ...] = FULL_REFERENCE
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a loss factory under ``name``.

    Every factory accepts ``reduction=`` (``"mean"``, ``"sum"`` or ``"none"``); the module
    it builds is called with the images named in ``inputs``, in that order.

    Args:
        name: Public name, unique among losses.
        inputs: :data:`FULL_REFERENCE` (``forward(restored, reference)``) or
            :data:`NO_REFERENCE` (``forward(restored)``).
    """

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        LOSSES.register(name)(factory)
        _INPUTS[name] = inputs
        return factory

    return decorator


def create_loss(name: str, **kwargs: object) -> nn.Module:
    """Build the loss registered as ``name`` (see :func:`list_losses`).

    Raises:
        DefocusError: For an unknown name (the message lists the known ones).
    """
    return LOSSES.create(name, **kwargs)


def list_losses() -> list[str]:
    """Names of all registered losses, sorted."""
    return LOSSES.names()


def loss_inputs(name: str) -> tuple[str, ...]:
    """The images the loss ``name`` takes, e.g. ``("restored", "reference")``."""
    LOSSES.get(name)  # uniform error for unknown names
    return _INPUTS[name]


register_loss("l1")(L1Loss)
register_loss("charbonnier")(CharbonnierLoss)
register_loss("frequency")(FrequencyLoss)
register_loss("reblur")(ReblurLoss)
register_loss("self-reblur", inputs=NO_REFERENCE)(SelfReblurLoss)
register_loss("sharpness", inputs=NO_REFERENCE)(SharpnessLoss)
