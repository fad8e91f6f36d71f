"""The common interface of every metric and the metric registry."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from defocus.checks import check_batch
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
"""Registered metrics; add one with ``@METRICS.register("name")`` on its class (whose
``name`` attribute is that name)."""


def create_metric(name: str, **kwargs: object) -> Metric:
    """Build the metric registered as ``name`` (see :func:`list_metrics`)."""
    return METRICS.create(name, **kwargs)


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    return METRICS.names()


def check_images(*images: object, finite: bool = True) -> None:
    """Validate that images are non-empty ``(B, C, H, W)`` float tensors of one shape.

    Args:
        *images: The tensors a metric or loss was given.
        finite: Also refuse NaN and infinite values (metrics; losses in a training
            loop skip the check, which would synchronise the GPU every step).

    Raises:
        TypeError: If an image is not a ``torch.Tensor`` (a NumPy array, ``None``).
        ValueError: If an image is not floating-point, shapes, dtypes or devices
            differ, a batch is empty, or (``finite``) an image holds NaN or infinity.
    """
    tensors = [check_batch(x, finite=False) for x in images]
    first = tensors[0]
    for x in tensors:
        if x.shape != first.shape:
            raise ValueError(f"image shapes differ: {tuple(first.shape)} vs {tuple(x.shape)}")
        if x.dtype != first.dtype:
            raise ValueError(f"image dtypes differ: {first.dtype} vs {x.dtype}; cast them to one")
        if x.device != first.device:
            raise ValueError(f"images are on different devices: {first.device} vs {x.device}")
    if finite:
        for x in tensors:
            check_batch(x, finite=True)
