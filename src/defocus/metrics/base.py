"""The common interface of every metric and the metric registry."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from defocus.registry import Registry


class Metric(nn.Module):
    """Base class: a metric maps images to one value per image.

    Subclasses set the class attributes and implement ``forward`` taking the images
    named in ``inputs`` positionally, in that order.

    Attributes:
        name: Registry name (``"q"``, ``"psnr"``, ...).
        lower_is_better: ``True`` for distances such as LPIPS.
        inputs: Which images the metric needs, a sub-sequence of
            ``("restored", "reference", "blurry")``.
    """

    name: ClassVar[str]
    lower_is_better: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ("restored", "reference")


METRICS: Registry[Metric] = Registry("metric")


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator adding a :class:`Metric` subclass to the registry under ``cls.name``."""
    METRICS.register(cls.name)(cls)
    return cls


def create_metric(name: str, **kwargs: object) -> Metric:
    """Build the metric registered as ``name`` (see :func:`list_metrics`)."""
    return METRICS.create(name, **kwargs)


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    return METRICS.names()


def check_images(*images: torch.Tensor) -> None:
    """Validate that images are ``(B, C, H, W)`` float tensors of one shape.

    Raises:
        ValueError: Naming the mismatch.
    """
    first = images[0]
    for x in images:
        if x.ndim != 4:
            raise ValueError(f"expected (B, C, H, W) images, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point image in [0, 1], got {x.dtype}")
        if x.shape != first.shape:
            raise ValueError(
                f"image shapes differ: {tuple(first.shape)} vs {tuple(x.shape)}"
            )
