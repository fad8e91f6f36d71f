"""AlexNet's convolutional trunk with its ImageNet weights, bundled and offline.

The five convolutions of torchvision's AlexNet, as LPIPS uses them; the weights are
the ImageNet ones inside ``defocus/weights/lpips_alex.safetensors`` (see
``docs/lpips-weights.md`` for their origin and licences), read with safetensors only.
LPIPS compares images in its stages; the defocus detector reads what a photo shows
from them (an in-focus subject, a background).
"""

from __future__ import annotations

from importlib import resources

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

WEIGHTS_FILE = "lpips_alex.safetensors"
"""The safetensors file in ``defocus/weights`` holding the trunk (``features.*``)."""

CONVS = (
    (3, 64, 11, 4, 2),
    (64, 192, 5, 1, 2),
    (192, 384, 3, 1, 1),
    (384, 256, 3, 1, 1),
    (256, 256, 3, 1, 1),
)
"""(in channels, out channels, kernel, stride, padding) of each convolution."""
STAGE_CHANNELS = tuple(out for _, out, _, _, _ in CONVS)
"""Channels of the five stages."""
STAGE_STRIDES = (4, 8, 16, 16, 16)
"""Approximate down-sampling of each stage relative to the input."""
_POOL_BEFORE = (1, 2)  # 3x3 stride-2 max pooling precedes these convolutions
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def bundled_weights() -> dict[str, torch.Tensor]:
    """All tensors of the bundled LPIPS-AlexNet file (float32, CPU)."""
    source = resources.files("defocus").joinpath("weights", WEIGHTS_FILE)
    with resources.as_file(source) as path:
        return load_file(str(path))


class AlexNetTrunk(nn.Module):
    """The five ReLU stages of AlexNet, on images in ``[0, 1]``.

    Images are mapped to ``[-1, 1]`` and normalised as LPIPS does (``(v - shift) /
    scale``, ImageNet's statistics); grey images are repeated to three channels.

    Args:
        imagenet: Start from the bundled ImageNet weights (otherwise PyTorch's
            default initialisation, for a module whose weights are loaded next).

    Shape:
        ``(B, C, H, W)``, ``C`` in ``{1, 3}``, ``H, W >= 31`` -> five maps
        ``(B, STAGE_CHANNELS[i], ~H / STAGE_STRIDES[i], ~W / STAGE_STRIDES[i])``.
    """

    def __init__(self, imagenet: bool = True) -> None:
        super().__init__()
        self.features = nn.ModuleList(
            nn.Conv2d(cin, cout, k, stride=s, padding=p) for cin, cout, k, s, p in CONVS
        )
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        if imagenet:
            trunk = {k: v for k, v in bundled_weights().items() if k.startswith("features.")}
            self.load_state_dict(trunk)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The five stages' ReLU outputs."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        x = (2 * images - 1 - self.shift.to(images.dtype)) / self.scale.to(images.dtype)
        stages = []
        for index, conv in enumerate(self.features):
            if index in _POOL_BEFORE:
                x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = F.relu(conv(x))
            stages.append(x)
        return stages
