"""Every network states the deblurrer protocol; plain modules are adapted explicitly."""

import pytest
import torch
from torch import nn

from defocus.errors import DefocusError
from defocus.models import Deblurrer, TwoStageDeblurrer, as_deblurrer, create_model, list_models
from defocus.models.protocol import DEFAULT_MULTIPLE, ModuleDeblurrer


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("channels", [1, 3])
def test_every_registered_model_states_the_protocol(name, channels):
    with torch.device("meta"):
        model = create_model(name, in_channels=channels)
    assert isinstance(model, Deblurrer)
    assert model.in_channels == channels
    assert model.multiple >= 1 and model.context >= 0


def test_only_the_wiener_unets_have_two_stages():
    with torch.device("meta"):
        stages = {name: isinstance(create_model(name), TwoStageDeblurrer) for name in list_models()}
    assert stages == {name: "wiener-unet" in name for name in list_models()}
    assert hasattr(create_model("tiny-unet"), "fuse")  # a submodule of that name: not a stage


def test_two_stage_forward_is_fuse_of_prepare():
    torch.manual_seed(0)
    model = create_model("wiener-unet", widths=(4, 8, 8)).eval()
    x = torch.rand(1, 1, 40, 36)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.fuse(model.prepare(x)))


def test_two_stage_base_cannot_be_built_without_its_stages():
    class Half(TwoStageDeblurrer):
        def fuse(self, features):
            return features

    with pytest.raises(TypeError, match="prepare"):
        Half(1)


def test_plain_modules_are_adapted_once():
    conv = nn.Sequential(nn.Conv2d(3, 3, 1))
    adapted = as_deblurrer(conv)
    assert isinstance(adapted, ModuleDeblurrer)
    assert (adapted.in_channels, adapted.multiple, adapted.context) == (3, DEFAULT_MULTIPLE, 0)
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(adapted(x), conv(x))
    tiny = create_model("tiny-unet")
    assert as_deblurrer(tiny) is tiny
    with pytest.raises(DefocusError, match="1 or 3 channels"):
        as_deblurrer(nn.Sequential(nn.Conv2d(2, 2, 1)))


@pytest.mark.parametrize(("channels", "multiple", "context"), [(2, 1, 0), (1, 0, 0), (1, 1, -1)])
def test_protocol_values_are_checked(channels, multiple, context):
    with pytest.raises(ValueError):
        Deblurrer(channels, multiple, context)
