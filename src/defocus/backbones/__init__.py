"""Pretrained feature extractors, bundled and offline, shared by metrics and networks.

:class:`AlexNetTrunk`: the five convolutional stages of AlexNet with ImageNet weights
(LPIPS compares images in them; the defocus detector reads a photo's content from them).
"""

from defocus.backbones.alexnet import STAGE_CHANNELS, AlexNetTrunk

__all__ = ["STAGE_CHANNELS", "AlexNetTrunk"]
