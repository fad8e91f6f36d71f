"""AlexNet trunk: the bundled ImageNet weights, stage shapes, grey input."""

import torch

from defocus.backbones.alexnet import STAGE_CHANNELS, STAGE_STRIDES, AlexNetTrunk, bundled_weights


def test_trunk_holds_the_bundled_imagenet_weights() -> None:
    trunk = AlexNetTrunk()
    weights = bundled_weights()
    for name, tensor in trunk.state_dict().items():
        assert torch.equal(tensor, weights[name])


def test_stages_have_the_stated_channels_and_strides() -> None:
    stages = AlexNetTrunk()(torch.rand(2, 3, 128, 192))
    for stage, channels, stride in zip(stages, STAGE_CHANNELS, STAGE_STRIDES, strict=True):
        assert stage.shape[:2] == (2, channels)
        assert abs(stage.shape[-1] - 192 / stride) <= 2
        assert (stage >= 0).all()


def test_grey_images_are_read_as_repeated_rgb() -> None:
    trunk = AlexNetTrunk()
    grey = torch.rand(1, 1, 64, 64)
    for a, b in zip(trunk(grey), trunk(grey.repeat(1, 3, 1, 1)), strict=True):
        torch.testing.assert_close(a, b)
