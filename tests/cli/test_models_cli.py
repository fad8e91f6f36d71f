import json

import pytest
import torch
from safetensors.torch import save_file

from defocus.cli.main import main
from defocus.infer import loading
from defocus.models import create_model, list_models, registry


def test_lists_architectures_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in list_models():
        assert name in out
    assert "5,321" in out  # tiny-unet, luma (its docstring's count)


def test_without_shipped_weights_says_how_to_pass_some(capsys, monkeypatch):
    monkeypatch.setattr(registry, "SHIPPED_WEIGHTS", {})
    monkeypatch.setattr(loading, "DEFAULT_WEIGHTS", None)
    assert main(["models"]) == 0
    assert "No trained weights are shipped yet" in capsys.readouterr().out


def test_the_default_model_is_listed_with_its_scores(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["default"] == loading.DEFAULT_WEIGHTS
    (row,) = [row for row in data["weights"] if row["default"]]
    assert row["architecture"] == "varying-wiener-unet" and row["channels"] == "luma"
    scores = row["scores"]
    assert {"cuhk_0401_0500", "depth_protocol_24_images", "defocus_protocol_16_images"} <= set(
        scores
    )
    (v1,) = [row for row in data["weights"] if row["name"] == "wiener-unet-defocus-v1"]
    assert {"psnr", "psnr_blurry", "psnr_wiener_oracle", "q_over_ground_truth"} <= set(v1["scores"])


def test_json_to_stdout(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in data["architectures"]}
    assert set(rows) == set(list_models())
    expected = sum(p.numel() for p in create_model("tiny-unet", in_channels=3).parameters())
    assert rows["tiny-unet"]["parameters_rgb"] == expected


def test_json_to_missing_folder_is_an_error(tmp_path, capsys):
    assert main(["models", "--json", str(tmp_path / "nope" / "m.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = create_model("tiny-unet", in_channels=3)
    save_file(
        model.state_dict(),
        str(tmp_path / "tiny-rgb.safetensors"),
        metadata={"scores": json.dumps({"PSNR": 30.5})},
    )
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(registry, "SHIPPED_WEIGHTS", {"tiny-rgb": "tiny-rgb.safetensors"})
    monkeypatch.setattr(loading, "DEFAULT_WEIGHTS", "tiny-rgb")
    return model


def test_shipped_weights_are_listed(shipped, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich folds cells at narrower widths
    assert main(["models", "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["weights"]
    assert row["name"] == "tiny-rgb"
    assert row["default"] is True
    assert row["architecture"] == "tiny-unet"
    assert row["channels"] == "RGB"
    assert row["parameters"] == sum(p.numel() for p in shipped.parameters())
    assert row["scores"] == {"PSNR": 30.5}
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-rgb (default)" in out
    assert "Scores of tiny-rgb" in out and "30.5" in out


def test_default_model_resolves_to_shipped_weights(shipped):
    image = torch.rand(3, 20, 24)
    from defocus.infer import deblur

    torch.testing.assert_close(deblur(image), deblur(image, shipped.eval()))
