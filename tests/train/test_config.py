from pathlib import Path

import pytest

from defocus.errors import DefocusError
from defocus.train.config import Config, load_config, parse_override

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return path


MINIMAL = """
[model]
name = "tiny-unet"

[train]
batch_size = 4

[[stages]]
name = "one"
steps = 3
loss = [{ name = "l1", weight = 1.0 }]
"""


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_and_validates(path: Path) -> None:
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.stages and all(stage.steps > 0 for stage in config.stages)


def test_paper_recipes_follow_the_spec() -> None:
    betas = {"arknet": 0.1, "xy_deblur": 0.01, "ehnet": 0.1}
    for name, beta in betas.items():
        config = load_config(CONFIGS / f"{name}.toml")
        first, second = config.stages
        assert first.beta == 0 and second.beta == beta
        assert second.init == "previous_best"
        assert config.train.batch_size == 32 and config.data.crop == 128 and config.data.luma
        assert config.optim.lr == 1e-4 and config.data.blur == "mmsp_box"
        assert config.data.train == "../shared/data/train/CBSD432"
    ehnet = load_config(CONFIGS / "ehnet.toml").stages[0].loss
    assert {"name": "frequency", "weight": 0.1} in ehnet


def test_minimal_config_fills_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.model.name == "tiny-unet" and config.train.batch_size == 4
    assert config.optim.name == "adam" and config.stages[0].init == "auto"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[train]\nbatchsize = 3\n", "unknown key 'train.batchsize'"),
        ("[trian]\nseed = 3\n", "unknown key 'trian'"),
        ("[train]\nbatch_size = 'big'\n", "train.batch_size: expected integer, got string"),
        ("[train]\nbatch_size = 2.5\n", "train.batch_size: expected integer, got float"),
        ("[train]\namp = 1\n", "train.amp: expected boolean, got integer"),
        ("[optim]\nlr = true\n", "optim.lr: expected float, got boolean"),
        ("[optim]\nname = 'sgd'\n", "optim.name: 'sgd' is not one of adam, adamw"),
        ("[optim]\nbetas = [0.9]\n", "optim.betas"),
        ("model = 3\n", "model: expected a table"),
        ("[[stages]]\nname = 'a'\nstepz = 3\n", "unknown key 'stages[0].stepz'"),
        ("[[stages]]\nname = 'a'\nsteps = 0\n", "stages[0].steps: must be positive"),
        ("[[stages]]\nname = 'a'\ninit = 'previous_best'\n", "no previous stage"),
        ("[model]\nname = 'nonet'\n", "unknown model 'nonet'"),
        ("[train]\nbest_metric = 'lpips'\nval_metrics = ['psnr']\n", "train.best_metric"),
        ("[model]\nin_channels = 3\n", "data.luma = true needs model.in_channels = 1"),
        ("[train\n", "invalid TOML"),
    ],
)
def test_bad_configs_give_one_line_errors_naming_file_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DefocusError) as info:
        load_config(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(DefocusError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_overrides_are_typed_and_validated(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    config = load_config(
        path,
        [
            "optim.lr=2e-3",
            "train.batch_size=8",
            "stages.one.beta=0.05",
            "data.train=/x/y z",
            "stages.0.loss.0.weight=2",
            "optim.betas=[0.8, 0.9]",
            "train.amp=false",
        ],
    )
    assert config.optim.lr == 2e-3 and config.train.batch_size == 8
    assert config.stages[0].beta == 0.05
    assert config.stages[0].loss[0]["weight"] == 2
    assert config.data.train == "/x/y z"
    assert config.optim.betas == [0.8, 0.9] and config.train.amp is False
    integer_lr = load_config(path, ["optim.lr=1"])
    assert isinstance(integer_lr.optim.lr, float)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.lrr=1", "unknown key 'train.lrr'"),
        ("train.batch_size=many", "train.batch_size: expected integer, got string"),
        ("stages.two.steps=3", "no item 'two'"),
        ("train.seed", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
    ],
)
def test_bad_overrides_name_the_override(tmp_path: Path, override: str, fragment: str) -> None:
    with pytest.raises(DefocusError) as info:
        load_config(write(tmp_path, MINIMAL), [override])
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_override_reads_toml_values() -> None:
    assert parse_override("a.b=3") == (["a", "b"], 3)
    assert parse_override("a='x'") == (["a"], "x")
    assert parse_override("a=plain/path") == (["a"], "plain/path")
