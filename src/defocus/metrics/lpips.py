"""LPIPS (Zhang et al. 2018), AlexNet variant with the v0.1 linear layers, fully offline.

The weights ship with the package as ``defocus/weights/lpips_alex.safetensors`` (see
``docs/lpips-weights.md`` for their origin and licences) and are read with safetensors
only; nothing is downloaded and nothing is unpickled.

The distance between two images ``x`` and ``y`` in ``[0, 1]`` is computed as follows.
Both are mapped to ``[-1, 1]`` (grey images repeated to three channels) and passed
through LPIPS's fixed scaling layer ``(v - shift) / scale``. The five ReLU stages of
AlexNet's convolutional trunk give features ``f_l``, each unit-normalised over
channels at every position. The squared differences of the normalised features are
weighted per channel by the linear layer ``w_l``, averaged over positions and summed
over the five layers:

    LPIPS(x, y) = sum_l mean_{h,w} sum_c w_{l,c} (f̂_l(x) - f̂_l(y))_{c,h,w}^2

Lower is better; identical images give 0.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from defocus.backbones.alexnet import STAGE_CHANNELS, AlexNetTrunk, bundled_weights
from defocus.metrics.base import METRICS, Metric, check_images

MIN_SIZE = 31
"""Smallest height and width AlexNet's trunk accepts (one position after the second pool)."""

_EPS = 1e-10


def _unit_normalise(feature: torch.Tensor) -> torch.Tensor:
    """Divide each position's feature vector by its Euclidean norm (plus a tiny epsilon).

    ``vector_norm`` has a zero sub-gradient at the origin, so all-zero feature
    vectors (frequent after a ReLU) keep gradients finite.

    Shape:
        feature: ``(B, C, H, W)``; returns the same shape.
    """
    return feature / (torch.linalg.vector_norm(feature, dim=1, keepdim=True) + _EPS)


@METRICS.register("lpips")
class LPIPS(Metric):
    """Learned perceptual distance LPIPS-AlexNet (v0.1); lower is better.

    The network is built from the bundled weights, frozen (``requires_grad`` is
    ``False``) and put in eval mode; it has no dropout or normalisation layers, so
    the mode does not change the result. Gradients flow to the input images, so the
    module can serve as a loss. Move it with ``.to(device, dtype)``; float32 and
    float64 are both supported.

    Shape:
        restored: ``(B, C, H, W)`` in ``[0, 1]``, ``C`` in ``{1, 3}``, ``H, W >= 31``.
        reference: same shape as ``restored``.
        output: ``(B,)``.
    """

    name = "lpips"
    lower_is_better = True
    inputs = ("restored", "reference")

    def __init__(self) -> None:
        super().__init__()
        self.trunk = AlexNetTrunk(imagenet=True)
        self.lin = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in STAGE_CHANNELS)
        linear = {k: v for k, v in bundled_weights().items() if k.startswith("lin.")}
        self.lin.load_state_dict({k.removeprefix("lin."): v for k, v in linear.items()})
        self.requires_grad_(False)
        self.eval()

    def forward(self, restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image.

        Args:
            restored: Images in ``[0, 1]``.
            reference: Images in ``[0, 1]`` of the same shape.

        Returns:
            One distance per image.

        Shape:
            restored: ``(B, C, H, W)``, ``C`` in ``{1, 3}``, ``H, W >= 31``.
            reference: ``(B, C, H, W)``.
            output: ``(B,)``.
        """
        check_images(restored, reference)
        _, c, h, w = restored.shape
        if c not in (1, 3):
            raise ValueError(f"lpips needs 1- or 3-channel images, got {c} channels")
        if min(h, w) < MIN_SIZE:
            raise ValueError(f"lpips needs images of at least {MIN_SIZE}x{MIN_SIZE}, got {h}x{w}")
        batch = restored.shape[0]
        stages = [_unit_normalise(s) for s in self.trunk(torch.cat([restored, reference]))]
        total = restored.new_zeros(batch)
        for lin, stage in zip(self.lin, stages, strict=True):
            diff = (stage[:batch] - stage[batch:]) ** 2
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total


@functools.lru_cache(maxsize=8)
def _network(device: torch.device, dtype: torch.dtype) -> LPIPS:
    """One shared frozen :class:`LPIPS` network per device and dtype."""
    return LPIPS().to(device=device, dtype=dtype)


def lpips(restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """LPIPS-AlexNet (v0.1) distance per image; lower is better.

    Uses a cached network on the device and dtype of ``restored``; differentiable
    with respect to both inputs.

    Args:
        restored: Images in ``[0, 1]``.
        reference: Images in ``[0, 1]`` of the same shape, device and dtype.

    Returns:
        One distance per image.

    Shape:
        restored: ``(B, C, H, W)``, ``C`` in ``{1, 3}``, ``H, W >= 31``.
        reference: ``(B, C, H, W)``.
        output: ``(B,)``.
    """
    return _network(restored.device, restored.dtype)(restored, reference)
