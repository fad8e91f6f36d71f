from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from defocus.errors import DefocusError
from defocus.models import create_model, list_models, list_pretrained


def test_known_models_registered():
    assert {"arknet", "tiny-unet"} <= set(list_models())


def test_unknown_model_lists_known():
    with pytest.raises(DefocusError, match="tiny-unet"):
        create_model("no-such-net")


def test_bad_channels():
    with pytest.raises(DefocusError, match="in_channels"):
        create_model("tiny-unet", in_channels=2)


def _randomise(model: torch.nn.Module) -> None:
    """Perturb every float entry of the state dict (BatchNorm statistics included)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key.endswith("running_var"):
                value.copy_(0.5 + torch.rand_like(value))
            elif value.is_floating_point():
                value.add_(0.01 * torch.randn_like(value))


@pytest.mark.parametrize("name", ["tiny-unet", "arknet"])
def test_safetensors_round_trip(tmp_path: Path, name: str):
    model = create_model(name, in_channels=3)
    _randomise(model)  # also BatchNorm running statistics
    path = tmp_path / "w.safetensors"
    save_file(model.state_dict(), str(path))
    loaded = create_model(name, in_channels=3, pretrained=path)
    x = torch.rand(1, 3, 21, 18)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded.eval()(x))


def test_pretrained_accepts_str_path(tmp_path: Path):
    model = create_model("tiny-unet")
    path = tmp_path / "w.safetensors"
    save_file(model.state_dict(), str(path))
    loaded = create_model("tiny-unet", pretrained=str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])


def test_missing_file(tmp_path: Path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(DefocusError, match=r"absent\.safetensors"):
        create_model("tiny-unet", pretrained=path)


def test_not_safetensors(tmp_path: Path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"this is not a safetensors file")
    with pytest.raises(DefocusError, match=r"junk\.safetensors"):
        create_model("tiny-unet", pretrained=path)


def test_wrong_model_weights(tmp_path: Path):
    path = tmp_path / "rgb.safetensors"
    save_file(create_model("tiny-unet", in_channels=3).state_dict(), str(path))
    with pytest.raises(DefocusError, match=r"rgb\.safetensors.*shape"):
        create_model("tiny-unet", in_channels=1, pretrained=path)
    path = tmp_path / "other.safetensors"
    save_file({"foo": torch.zeros(2)}, str(path))
    with pytest.raises(DefocusError, match=r"other\.safetensors.*missing.*unexpected: foo"):
        create_model("tiny-unet", pretrained=path)


def test_unknown_pretrained_name_lists_available():
    with pytest.raises(DefocusError, match="available") as info:
        create_model("tiny-unet", pretrained="no-such-weights")
    for name in list_pretrained():
        assert name in str(info.value)


def test_directory_is_not_weights(tmp_path: Path):
    with pytest.raises(DefocusError, match="not a weights file"):
        create_model("tiny-unet", pretrained=tmp_path)
