import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from defocus.models import create_model
from defocus.train.distributed import check_replicas, weights_digest

ROOT = Path(__file__).resolve().parents[2]


def test_replica_check_catches_any_difference() -> None:
    model = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.Linear(3, 2))  # 0-d buffers
    digest = weights_digest(model)
    assert check_replicas([digest, digest]) == digest
    with torch.no_grad():
        model[1].bias[0] = torch.nextafter(model[1].bias[0], torch.tensor(1.0))  # one ulp
    assert weights_digest(model) != digest
    with pytest.raises(RuntimeError, match="replicas diverged"):
        check_replicas([digest, weights_digest(model)])


def torchrun(out: Path, *extra: str) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2 defocus train`` on the smoke recipe."""
    script = shutil.which("defocus")
    launch = [script] if script else ["-m", "defocus"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}  # tracebacks on abort
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        *launch, "train", "--config", str(ROOT / "configs" / "smoke.toml"), "--out", str(out),
        *extra,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, cwd=out.parent
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_torchrun_two_cpu_processes_end_identical_with_one_checkpoint(tmp_path) -> None:
    out = tmp_path / "run"
    done = torchrun(out)
    summary = json.loads(done.stdout)  # rank 0 alone prints it
    (stage,) = summary["stages"]
    files = sorted(p.name for p in (out / stage["name"] / "checkpoints").iterdir())
    assert files == ["best", "latest", "step-00000006.safetensors", "step-00000006.state.pt"]
    # the trainer all-gathers every rank's weight digest and fails if they differ; the
    # common digest is reported, and it is the digest of the weights written to disk
    model = create_model("tiny-unet", in_channels=1)
    model.load_state_dict(load_file(stage["best"]))
    assert weights_digest(model) == stage["digest"]
    assert json.loads((out / "summary.json").read_text())["stages"][0]["digest"] == stage["digest"]
    rows = (out / stage["name"] / "log.csv").read_text().splitlines()
    assert len(rows) == 1 + 3  # header + steps 2, 4, 6


# rows every 3 steps, checkpoints every 2: the resumed row of step 6 includes step 4,
# accumulated on both ranks before the checkpoint
SPLIT = ("train.checkpoint_every=2", "train.log_every=3")


@pytest.mark.slow
def test_torchrun_stopped_and_resumed_matches_uninterrupted(tmp_path) -> None:
    whole = json.loads(torchrun(tmp_path / "whole", *SPLIT).stdout)
    torchrun(tmp_path / "split", *SPLIT, "train.stop_after=5")
    resumed = json.loads(torchrun(tmp_path / "split", *SPLIT, "--resume").stdout)
    assert resumed["stages"][0]["digest"] == whole["stages"][0]["digest"]
    csv_whole = (tmp_path / "whole" / "smoke" / "log.csv").read_text().splitlines()
    csv_split = (tmp_path / "split" / "smoke" / "log.csv").read_text().splitlines()
    without_speed = [[line.split(",")[i] for i in (0, 1, 2, 3)] for line in csv_whole]
    assert without_speed == [[line.split(",")[i] for i in (0, 1, 2, 3)] for line in csv_split]
