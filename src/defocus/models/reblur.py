"""The reblurring module of Nah et al., "Clean images are hard to reblur" (ICCV 2021)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from defocus.errors import DefocusError
from defocus.io.weights import (
    ARCHITECTURE_KEY,
    IN_CHANNELS_KEY,
    OPTIONS_KEY,
    WEIGHTS_DIR,
    load_weights,
    weights_metadata,
)
from defocus.registry import Registry


class ReblurBlock(nn.Module):
    """conv → ReLU → conv plus identity (k x k convolutions with bias).

    Args:
        channels: Input and output channels.
        kernel_size: Odd kernel side.

    Shape:
        - Input: :math:`(B, c, H, W)`.
        - Output: :math:`(B, c, H, W)`.
    """

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=padding),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, kernel_size, padding=padding),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block (see the class docstring for shapes)."""
        return x + self.body(x)


AUXILIARY: Registry[nn.Module] = Registry("auxiliary network")
"""Networks that are not deblurrers but are trained alongside one (``[[stages.networks]]``
of a recipe), e.g. the reblurring module; add one with ``@AUXILIARY.register``."""


@AUXILIARY.register("reblur-module")
class ReblurModule(nn.Module):
    """``M_R``: a small residual CNN trained to amplify the blur left in an image.

    Architecture: 5x5 conv (C→64) → ``blocks`` residual blocks (5x5 conv → ReLU → 5x5
    conv, plus identity) → 5x5 conv (64→C); global residual ``out = input + net(input)``.
    The paper uses 1 or 2 blocks; the default is 2. Fully convolutional, so any size
    works (zero padding at the borders).

    Args:
        in_channels: Image channels C.
        features: Feature channels.
        blocks: Residual blocks.
        kernel_size: Kernel side of every convolution.

    Shape:
        - Input: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, H, W)`.
    """

    def __init__(
        self, in_channels: int = 1, features: int = 64, blocks: int = 2, kernel_size: int = 5
    ) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, features, kernel_size, padding=padding),
            *(ReblurBlock(features, kernel_size) for _ in range(blocks)),
            nn.Conv2d(features, in_channels, kernel_size, padding=padding),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reblur ``x`` (see the class docstring for shapes)."""
        return x + self.body(x)


@contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Temporarily set ``requires_grad = False`` on all parameters of ``module``.

    Within the context no gradient reaches the module's parameters, while gradients
    still flow through it to its inputs; the previous flags are restored afterwards.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield module
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


SHIPPED_REBLUR: dict[str, str] = {
    "reblur-module-defocus-v2": "reblur_module_defocus_v2.safetensors",
}
"""Shipped reblurring modules → file name in :data:`~defocus.io.weights.WEIGHTS_DIR`.

``reblur-module-defocus-v2`` was trained on the outputs of the default model
``wiener-unet-defocus-v2`` (``configs/reblur_default.toml``; ``docs/reblurring.md``)."""

MATCHED_REBLUR: dict[str, str] = {"wiener-unet-defocus-v2": "reblur-module-defocus-v2"}
"""Shipped deblurrer weights → the shipped reblurring module trained on its outputs."""


def load_reblur_module(weights: str | Path) -> ReblurModule:
    """A reblurring module ``M_R`` from a shipped name or a safetensors file.

    The file's metadata must name the ``reblur-module`` architecture (the trainer's
    checkpoints of a ``[[stages.networks]]`` entry and exported modules do); its
    options (features, blocks) come from the metadata too.

    Args:
        weights: A name of :data:`SHIPPED_REBLUR` or a ``.safetensors`` file.

    Returns:
        The module in eval mode, on the CPU.

    Raises:
        DefocusError: If the file is missing, unreadable, not a reblurring module, or
            its weights do not fit.
    """
    shipped = SHIPPED_REBLUR.get(str(weights))
    path = WEIGHTS_DIR / shipped if shipped is not None else Path(weights)
    if not path.is_file():
        known = ", ".join(sorted(SHIPPED_REBLUR))
        raise DefocusError(f"{path}: reblurring module not found (shipped: {known})")
    metadata = weights_metadata(path)
    architecture = metadata.get(ARCHITECTURE_KEY, "")
    if architecture not in AUXILIARY:
        raise DefocusError(
            f"{path}: not a reblurring module (architecture {architecture or 'unnamed'!r})"
        )
    try:
        options = json.loads(metadata.get(OPTIONS_KEY, "{}"))
        channels = int(metadata.get(IN_CHANNELS_KEY, "1"))
    except ValueError:
        raise DefocusError(f"{path}: bad {OPTIONS_KEY} or {IN_CHANNELS_KEY} metadata") from None
    module = AUXILIARY.create(architecture, in_channels=channels, **options)
    load_weights(module, path)
    return module.eval()
