"""Build losses by name from the CLI and configs (the registry is :data:`LOSSES`)."""

from __future__ import annotations

# the loss modules register themselves on import
import defocus.losses.blur_map
import defocus.losses.frequency
import defocus.losses.pixel
import defocus.losses.reblur
import defocus.losses.sharpness  # noqa: F401
from defocus.losses.base import LOSSES, Loss


def create_loss(name: str, **kwargs: object) -> Loss:
    """Build the loss registered as ``name`` (see :func:`list_losses`).

    Every loss accepts ``reduction=`` (``"mean"``, ``"sum"`` or ``"none"``).

    Raises:
        DefocusError: For an unknown name (the message lists the known ones).
    """
    return LOSSES.create(name, **kwargs)


def list_losses() -> list[str]:
    """Names of all registered losses, sorted."""
    return LOSSES.names()


def loss_inputs(name: str) -> tuple[str, ...]:
    """The images the loss ``name`` takes, e.g. ``("restored", "reference")``."""
    return LOSSES.get(name).inputs  # type: ignore[attr-defined]
