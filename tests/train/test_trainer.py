import csv
import json
from pathlib import Path

import pytest
import tomllib
import torch
from safetensors.torch import load_file, save_file

from defocus.errors import DefocusError
from defocus.train import checkpoint as checkpoint_module
from defocus.train.checkpoint import CheckpointDir
from defocus.train.config import config_from_dict
from defocus.train.trainer import train

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.toml"


def recipe(**sections):
    table = tomllib.loads(SMOKE.read_text())
    for name, values in sections.items():
        if name == "stages":
            table["stages"] = values
        else:
            table.setdefault(name, {}).update(values)
    return config_from_dict(table, "test")


def logged(stage_dir: Path) -> list[dict[str, str]]:
    """The CSV rows without the (timing-dependent) throughput."""
    rows = list(csv.DictReader(open(stage_dir / "log.csv")))
    return [{k: v for k, v in row.items() if k != "crops_per_s"} for row in rows]


TWO_STAGES = [
    {"name": "pre", "steps": 5, "loss": [{"name": "l1", "weight": 1.0}]},
    {"name": "fine", "steps": 4, "loss": [{"name": "l1", "weight": 1.0}], "beta": 0.1},
]


def final_weights(out: Path, stage: str) -> dict[str, torch.Tensor]:
    store = CheckpointDir(out / stage / "checkpoints")
    return load_file(str(store.weights_path(store.latest())))


def test_two_stage_run_writes_logs_plots_and_checkpoints(tmp_path) -> None:
    config = recipe(
        train={"checkpoint_every": 2, "val_every": 2, "log_every": 1}, stages=TWO_STAGES
    )
    result = train(config, tmp_path)
    assert [s.name for s in result.stages] == ["pre", "fine"] and result.stopped_at == 0
    for stage, steps in (("pre", 5), ("fine", 4)):
        rows = list(csv.DictReader(open(tmp_path / stage / "log.csv")))
        assert [int(r["step"]) for r in rows] == list(range(1, steps + 1))
        assert all(float(r["loss"]) == float(r["loss"]) for r in rows)
        assert rows[-1]["val_psnr"] and float(rows[-1]["crops_per_s"]) > 0
        assert (tmp_path / stage / "curves.png").stat().st_size > 1000
        store = CheckpointDir(tmp_path / stage / "checkpoints")
        assert store.latest() == f"step-{steps:08d}" and store.best() is not None
    fine_rows = list(csv.DictReader(open(tmp_path / "fine" / "log.csv")))
    assert "sharpness" in fine_rows[0] and fine_rows[0]["sharpness"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [s["name"] for s in summary["stages"]] == ["pre", "fine"]
    assert Path(summary["stages"][0]["best"]).is_file()
    # the baseline: the degraded inputs scored as they are (a 5x5 box blur costs PSNR)
    inputs = summary["degraded_inputs"]
    assert set(inputs) == {"psnr", "ssim", "q", "omega"} and 15 < inputs["psnr"] < 40
    assert json.loads((tmp_path / "config.json").read_text())["stages"][1]["beta"] == 0.1


def test_second_stage_starts_from_best_first_stage_weights(tmp_path, monkeypatch):
    config = recipe(
        train={"checkpoint_every": 1, "val_every": 1, "plot": False},
        schedule={"name": "constant"},
        stages=[TWO_STAGES[0], {**TWO_STAGES[1], "lr": 1e-30}],
    )
    # a tiny lr leaves the fine-tuned weights (almost) at their starting point
    train(config, tmp_path)
    pre = CheckpointDir(tmp_path / "pre" / "checkpoints")
    best = load_file(str(pre.weights_path(pre.best())))
    fine = final_weights(tmp_path, "fine")
    for key, value in best.items():
        assert torch.allclose(value.float(), fine[key].float(), atol=1e-20), key


# rows every 4 steps, checkpoints every 2 (and at each new best): a resumed run must log
# the same means over each interval
RESUME_SETTINGS = {"checkpoint_every": 2, "val_every": 3, "log_every": 4, "plot": False}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """One uninterrupted two-stage run, shared by the resume tests (on one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("whole")
    train(recipe(train=RESUME_SETTINGS, stages=TWO_STAGES), out)
    torch.set_num_threads(threads)
    return out


# 3: killed after step 3 of stage 1 (last checkpoint: step 2); 8: after step 3 of stage 2
@pytest.mark.parametrize("stop_after", [3, 8])
def test_stopped_and_resumed_run_matches_uninterrupted_bit_for_bit(
    tmp_path, uninterrupted, stop_after
) -> None:
    split = tmp_path / "split"
    stopping = recipe(train={**RESUME_SETTINGS, "stop_after": stop_after}, stages=TWO_STAGES)
    assert train(stopping, split).stopped_at == stop_after
    resumed = train(recipe(train=RESUME_SETTINGS, stages=TWO_STAGES), split, resume=True)
    assert resumed.stopped_at == 0
    for stage in ("pre", "fine"):
        a, b = final_weights(uninterrupted, stage), final_weights(split, stage)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (stage, key)
        assert logged(uninterrupted / stage) == logged(split / stage)
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert [s.digest for s in resumed.stages] == [s["digest"] for s in summary["stages"]]


def test_resume_restores_batchnorm_statistics_exactly(tmp_path) -> None:
    """ARKNet has BatchNorm: running statistics and counters must resume exactly too."""
    small = {"model": {"name": "arknet"}, "data": {"crop": 16, "generated_size": 32}}
    settings = {
        "batch_size": 2,
        "checkpoint_every": 2,
        "val_every": 4,
        "plot": False,
        "val_metrics": ["psnr"],
    }
    stages = [{"name": "bn", "steps": 4, "loss": [{"name": "l1"}]}]
    train(recipe(train=settings, stages=stages, **small), tmp_path / "whole")
    stopping = recipe(train={**settings, "stop_after": 3}, stages=stages, **small)
    train(stopping, tmp_path / "split")
    train(recipe(train=settings, stages=stages, **small), tmp_path / "split", resume=True)
    a, b = final_weights(tmp_path / "whole", "bn"), final_weights(tmp_path / "split", "bn")
    assert any("running_var" in key for key in a)
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_crash_inside_a_checkpoint_write_resumes_from_the_previous_one(
    tmp_path, uninterrupted, monkeypatch
) -> None:
    real_save = checkpoint_module.save_file
    calls = []

    def crash_on_second_save(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:  # weights of the next set (step 3, a new best), after its state
            raise KeyboardInterrupt("killed while writing")
        real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "save_file", crash_on_second_save)
    with pytest.raises(KeyboardInterrupt):
        train(recipe(train=RESUME_SETTINGS, stages=TWO_STAGES), tmp_path)
    monkeypatch.undo()
    store = CheckpointDir(tmp_path / "pre" / "checkpoints")
    assert store.latest() == "step-00000002"
    store.load(store.latest())  # intact and loadable
    train(recipe(train=RESUME_SETTINGS, stages=TWO_STAGES), tmp_path, resume=True)
    for stage in ("pre", "fine"):
        a, b = final_weights(uninterrupted, stage), final_weights(tmp_path, stage)
        assert all(torch.equal(a[key], b[key]) for key in a)


def test_existing_run_is_never_overwritten(tmp_path) -> None:
    config = recipe(stages=[TWO_STAGES[0]])
    train(config, tmp_path)
    with pytest.raises(DefocusError, match="--resume"):
        train(config, tmp_path)
    result = train(config, tmp_path, resume=True)  # finished: nothing to do
    assert result.stages[0].steps == 5


def test_checkpoints_name_their_architecture_and_load_without_trial(tmp_path, monkeypatch):
    from defocus.infer import loading
    from defocus.infer.loading import inspect_weights, load_model

    only = {"name": "only", "steps": 2, "loss": [{"name": "l1", "weight": 1.0}]}
    config = recipe(stages=[only])
    train(config, tmp_path)
    store = CheckpointDir(tmp_path / "only" / "checkpoints")
    path = store.weights_path(store.latest())
    built = []
    real = loading.architecture_shapes

    def counting(architecture, in_channels):
        built.append((architecture, in_channels))
        return real(architecture, in_channels)

    monkeypatch.setattr(loading, "architecture_shapes", counting)
    info = inspect_weights(path)
    assert info.metadata["architecture"] == config.model.name == info.architecture
    assert built == [(config.model.name, config.model.in_channels)]
    expected = type(loading.meta_model(config.model.name, 1))
    assert type(load_model(path)) is expected


def test_stage_loss_gets_the_blurry_input_and_refuses_missing_ones(tmp_path):
    from defocus.losses import LOSSES, Loss

    calls = []

    class UsesBlurry(Loss):
        inputs = ("restored", "blurry")

        def forward(self, restored, blurry):
            calls.append(blurry.shape == restored.shape)
            return (restored - blurry).abs().mean()

    class UsesBlurMap(Loss):
        inputs = ("restored", "blur_map")

    LOSSES.register("test-uses-blurry")(UsesBlurry)
    LOSSES.register("test-uses-blur-map")(UsesBlurMap)
    try:
        stage = {"name": "s", "steps": 2, "loss": [{"name": "test-uses-blurry"}]}
        train(recipe(stages=[stage]), tmp_path / "a")
        assert calls == [True, True]
        stage["loss"] = [{"name": "test-uses-blur-map"}]
        with pytest.raises(DefocusError, match="needs blur_map"):
            train(recipe(stages=[stage]), tmp_path / "b")
    finally:
        LOSSES._factories.pop("test-uses-blurry")
        LOSSES._factories.pop("test-uses-blur-map")


def test_model_options_come_from_the_config_and_travel_with_the_weights(tmp_path):
    from defocus.infer.loading import inspect_weights, load_model

    only = {"name": "only", "steps": 1, "loss": [{"name": "l1"}]}
    config = recipe(model={"name": "tiny-unet", "options": {"width": 4}}, stages=[only])
    train(config, tmp_path)
    store = CheckpointDir(tmp_path / "only" / "checkpoints")
    path = store.weights_path(store.latest())
    assert inspect_weights(path).options == {"width": 4}
    assert load_model(path).head[0].out_channels == 4
    from defocus.train.config import check_names

    with pytest.raises(DefocusError, match=r"model\.options"):
        check_names(recipe(model={"name": "tiny-unet", "options": {"bad": 1}}), "test")


REBLUR_SMOKE = SMOKE.with_name("reblur_smoke.toml")


def reblur_recipe(**train_settings) -> object:
    table = tomllib.loads(REBLUR_SMOKE.read_text())
    table["train"].update(train_settings)
    return config_from_dict(table, "test")


def companion_weights(out: Path) -> dict[str, torch.Tensor]:
    store = CheckpointDir(out / "reblur" / "reblur" / "checkpoints")
    return load_file(str(store.weights_path(store.latest())))


def test_two_networks_train_in_alternation_with_their_own_checkpoints(tmp_path):
    """The reblur smoke recipe: the deblurrer's reblur term runs through the trained M_R."""
    from defocus.models import AUXILIARY, load_reblur_module

    config = reblur_recipe()
    result = train(config, tmp_path)
    assert [s.name for s in result.stages] == ["reblur"]
    rows = list(csv.DictReader(open(tmp_path / "reblur" / "log.csv")))
    assert {"l1", "reblur", "reblur.loss", "reblur.reblur-module"} <= set(rows[0])
    assert all(float(r["reblur.loss"]) > 0 for r in rows)
    torch.manual_seed(0)
    options = config.stages[0].networks[0].options
    untrained = AUXILIARY.create("reblur-module", in_channels=1, **options).state_dict()
    trained = companion_weights(tmp_path)
    assert trained.keys() == untrained.keys()
    assert any(not torch.equal(trained[k], untrained[k]) for k in trained)  # M_R learned
    store = CheckpointDir(tmp_path / "reblur" / "reblur" / "checkpoints")
    assert store.best() == CheckpointDir(tmp_path / "reblur" / "checkpoints").best()
    module = load_reblur_module(store.weights_path(store.latest()))  # what --adapt reads
    assert all(torch.equal(module.state_dict()[k], trained[k]) for k in trained)


@pytest.mark.parametrize(
    ("model", "options"),
    [("tiny-unet", {}), ("arknet", {"widths": [4, 8], "depth": 1})],  # ARKNet: BatchNorm
)
def test_a_frozen_model_stage_trains_only_the_networks_alongside(tmp_path, model, options):
    """``freeze_model``: M_R learns on a fixed deblurrer's outputs (its warm-up).

    Fixed includes BatchNorm's running statistics: the frozen model runs in eval mode.
    """
    from defocus.models import create_model

    torch.manual_seed(3)
    start = tmp_path / "start.safetensors"
    save_file(create_model(model, **options).state_dict(), str(start))
    table = tomllib.loads(REBLUR_SMOKE.read_text())
    table["model"].update(name=model, options=options, pretrained=str(start))
    table["stages"][0].update(freeze_model=True, loss=[{"name": "l1"}])
    result = train(config_from_dict(table, "test"), tmp_path / "out")
    assert result.stages[0].name == "reblur"
    before, after = load_file(str(start)), final_weights(tmp_path / "out", "reblur")
    assert all(torch.equal(before[k], after[k]) for k in before)
    rows = list(csv.DictReader(open(tmp_path / "out" / "reblur" / "log.csv")))
    assert len({r["reblur.loss"] for r in rows}) > 1  # M_R's loss moves


def test_a_network_continues_from_the_previous_stage(tmp_path):
    """``pretrained = "previous"``: stage 2's M_R starts from stage 1's last M_R."""
    table = tomllib.loads(REBLUR_SMOKE.read_text())
    warm = {**table["stages"][0], "name": "warm", "freeze_model": True, "loss": [{"name": "l1"}]}
    fine = {**table["stages"][0], "name": "fine", "init": "previous_last"}
    fine["networks"] = [{**fine["networks"][0], "pretrained": "previous", "lr": 1e-12}]
    table["stages"] = [warm, fine]
    train(config_from_dict(table, "test"), tmp_path)
    stores = [
        CheckpointDir(tmp_path / stage / "reblur" / "checkpoints") for stage in ("warm", "fine")
    ]
    warmed, continued = (load_file(str(s.weights_path(s.latest()))) for s in stores)
    assert any(w.abs().max() > 1e-3 for w in warmed.values())
    for key, value in warmed.items():  # at lr 1e-12 stage 2 barely moves it
        torch.testing.assert_close(continued[key], value, rtol=0, atol=1e-6)
    table["stages"][0]["networks"][0]["options"] = {"features": 4, "blocks": 1}
    with pytest.raises(DefocusError, match="same model and options in the previous stage"):
        config_from_dict(table, "test")


def test_a_frozen_model_stage_needs_a_network_to_train():
    table = tomllib.loads(REBLUR_SMOKE.read_text())
    table["stages"][0].update(freeze_model=True, networks=[])
    table["stages"][0]["loss"] = [{"name": "l1"}]
    with pytest.raises(DefocusError, match="nothing would learn"):
        config_from_dict(table, "test")


def test_two_network_run_resumes_bit_for_bit(tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(reblur_recipe(), whole)
    assert train(reblur_recipe(stop_after=4), split).stopped_at == 4
    train(reblur_recipe(), split, resume=True)
    for weights in (final_weights, lambda out, _: companion_weights(out)):
        a, b = weights(whole, "reblur"), weights(split, "reblur")
        assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "nope"}, "unknown 'nope'"),
        ({"loss": []}, "at least one loss term"),
        ({"name": "checkpoints"}, "reserved"),
        ({"loss": [{"name": "reblur-module", "network": "other"}]}, "names network 'other'"),
    ],
)
def test_bad_networks_are_refused(change, message):
    table = tomllib.loads(REBLUR_SMOKE.read_text())
    table["stages"][0]["networks"][0].update(change)
    with pytest.raises(DefocusError, match=message):
        config_from_dict(table, "test")


def test_realistic_data_gives_losses_the_blur_map(tmp_path):
    from defocus.losses import LOSSES, Loss

    shapes = []

    class UsesBlurMap(Loss):
        inputs = ("restored", "reference", "blur_map")

        def forward(self, restored, reference, blur_map):
            shapes.append((tuple(blur_map.shape), float(blur_map.min()) >= 0))
            return (restored - reference).abs().mean()

    LOSSES.register("test-blur-map")(UsesBlurMap)
    try:
        stage = {"name": "s", "steps": 2, "loss": [{"name": "test-blur-map"}]}
        config = recipe(data={"blur": "realistic"}, stages=[stage])
        train(config, tmp_path)
        crop = config.data.crop
        assert shapes == [((config.train.batch_size, 1, crop, crop), True)] * 2
    finally:
        LOSSES._factories.pop("test-blur-map")
