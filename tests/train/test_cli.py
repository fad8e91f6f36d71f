import json
from pathlib import Path

import pytest

from defocus.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.toml"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["train", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--config", "absent.toml"], "absent.toml: no such config file"),
        (["--config", str(SMOKE), "train.bogus=1"], "unknown key 'train.bogus'"),
        (["--config", str(SMOKE), "train.seed=x"], "train.seed: expected integer"),
    ],
)
def test_config_errors_are_one_line(tmp_path, capsys, args, fragment) -> None:
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path / "run"))
    assert code == 1 and out == ""
    assert err.startswith("defocus: error: ") and fragment in err
    assert err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_existing_run_needs_resume(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    (out / "smoke" / "checkpoints").mkdir(parents=True)
    (out / "smoke" / "checkpoints" / "latest").write_text("step-00000006\n")
    code, _, err = run_cli(capsys, "--config", str(SMOKE), "--out", str(out))
    assert code == 1 and "already holds a training run" in err and "--resume" in err


def test_smoke_run_stops_and_resumes_from_the_command_line(tmp_path, capsys) -> None:
    args = ["--config", str(SMOKE), "--out", str(tmp_path / "run"), "train.checkpoint_every=2"]
    code, out, err = run_cli(capsys, *args, "train.stop_after=4")
    assert code == 0 and "stopped after step 4" in err
    assert json.loads(out)["stopped_at"] == 4
    code, out, err = run_cli(capsys, *args, "--resume")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stopped_at"] == 0 and summary["stages"][0]["steps"] == 6
