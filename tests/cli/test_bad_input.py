"""Table of hostile and careless command lines: each must fail cleanly and lose nothing.

Every case builds its files in an empty folder, runs the command in-process and checks
that it exits non-zero with exactly one stderr line starting ``defocus: error:``, and
that the folder is byte-for-byte what it was before: inputs unchanged, no output file
or folder (complete or partial, hidden or not) left behind.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from defocus.cli.main import main
from defocus.io import write_image
from defocus.models import create_model


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the SHA-256 of its bytes (folders: ``"dir"``)."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = os.fsdecode(path.relative_to(root))
        state[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def photo(path: Path, size: tuple[int, int] = (24, 32), channels: int = 3, seed: int = 0) -> Path:
    gen = torch.Generator().manual_seed(seed)
    write_image(path, torch.rand(channels, *size, generator=gen))
    return path


def truncated(path: Path) -> Path:
    photo(path.with_name("full_" + path.name), seed=5)
    data = path.with_name("full_" + path.name).read_bytes()
    path.with_name("full_" + path.name).unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def float_tiff(path: Path, value: float, size: tuple[int, int] = (24, 32)) -> Path:
    arr = np.full(size, 0.5, dtype=np.float32)
    arr[3, 4] = value
    Image.fromarray(arr, mode="F").save(path)
    return path


def multipage_tiff(path: Path) -> Path:
    pages = [Image.new("RGB", (32, 24), (i * 60, 80, 120)) for i in range(3)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def nan_model(path: Path) -> Path:
    model = create_model("tiny-unet", in_channels=1)
    weights = {k: v.clone().contiguous() for k, v in model.state_dict().items()}
    first = next(k for k, v in weights.items() if v.is_floating_point())
    weights[first][...] = float("nan")
    save_file(weights, str(path), metadata={"architecture": "tiny-unet", "in_channels": "1"})
    return path


def smoke_config(path: Path, **values: str) -> Path:
    text = Path(__file__).parents[2].joinpath("configs", "smoke.toml").read_text()
    for key, value in values.items():
        text = text.replace(f"{key} = ", f"{key} = {value}  # was ", 1)
    path.write_text(text)
    return path


@dataclass
class Case:
    """One command line: ``setup(folder)`` writes the files and returns the arguments."""

    id: str
    setup: Callable[[Path], list[str]]


def _score_report_is_input(option: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        img = photo(d / "img.png")
        return ["score", str(img), "--metrics", "q", option, str(img)]

    return setup


def _score_report_is_reference(d: Path) -> list[str]:
    photo(d / "r.png")
    ref = photo(d / "ref.png", seed=1)
    return ["score", str(d / "r.png"), "--ref", str(ref), "--metrics", "psnr", "--csv", str(ref)]


def _score_report_in_input_folder(d: Path) -> list[str]:
    (d / "imgs").mkdir()
    photo(d / "imgs" / "a.png")
    photo(d / "imgs" / "b.png", seed=1)
    return ["score", str(d / "imgs"), "--metrics", "q", "--json", str(d / "imgs" / "b.png")]


def _score_same_report_twice(d: Path) -> list[str]:
    img = photo(d / "img.png")
    out = str(d / "report.txt")
    return ["score", str(img), "--metrics", "q", "--csv", out, "--json", out]


def _score_non_utf8_name(d: Path) -> list[str]:
    name = os.fsdecode(b"caf\xe9.png")
    photo(d / name)
    return ["score", str(d / name), "--metrics", "q", "--csv", str(d / "s.csv")]


def _degrade_psf_in_out(d: Path) -> list[str]:
    (d / "out").mkdir()
    psf = npy(d / "out" / "psf.npy", np.ones((3, 3)))
    return ["degrade", str(photo(d / "a.png")), "-o", str(d / "out"), "--psf", str(psf)]


def _degrade_psf_image_overwritten(d: Path) -> list[str]:
    (d / "imgs").mkdir()
    (d / "out").mkdir()
    photo(d / "imgs" / "kernel.png")
    psf = photo(d / "out" / "kernel.png", size=(5, 5), channels=1, seed=2)
    return ["degrade", str(d / "imgs"), "-o", str(d / "out"), "--psf", str(psf)]


def _folder_good_then_truncated(command: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        (d / "in").mkdir()
        photo(d / "in" / "a_good.png")
        truncated(d / "in" / "b_bad.png")
        return [command, str(d / "in"), "-o", str(d / "out"), "--psf", "disk:1"]

    return setup


def _folder_good_then_truncated_model(d: Path) -> list[str]:
    (d / "in").mkdir()
    photo(d / "in" / "a_good.png")
    truncated(d / "in" / "b_bad.png")
    return ["deblur", str(d / "in"), "-o", str(d / "out"), "--device", "cpu"]


def _with_image(
    command: str, *options: str, make: Callable[[Path], Path] | None = None
) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        src = make(d) if make else photo(d / "a.png")
        out = str(d / "out") if command == "degrade" else str(d / "out.png")
        return [command, str(src), "-o", out, *options]

    return setup


def _psf_file(
    make: Callable[[Path], Path], command: str = "degrade"
) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        psf = make(d)
        out = str(d / "out") if command == "degrade" else str(d / "out.png")
        return [command, str(photo(d / "a.png")), "-o", out, "--psf", str(psf)]

    return setup


def _raw_file(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return make


def _structured_npy(d: Path) -> Path:
    return npy(d / "s.npy", np.zeros((3, 3), dtype=[("a", "f4"), ("b", "i4")]))


def _train(config: Callable[[Path], Path], *extra: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["train", "--config", str(config(d)), "--out", str(d / "run"), *extra]

    return setup


def _train_resume(prepare: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        run = d / "run"
        prepare(run)
        return ["train", "--config", str(smoke_config(d / "c.toml")), "--out", str(run), "--resume"]

    return setup


def _empty_run(run: Path) -> None:
    run.mkdir()


def _checkpoint_run(mutate: Callable[[Path], None]) -> Callable[[Path], None]:
    """A finished smoke run, then ``mutate(checkpoints_folder)`` spoils its latest set."""

    def prepare(run: Path) -> None:
        config = smoke_config(run.parent / "c.toml", steps="4")
        steps = ["train.checkpoint_every=2", "train.val_every=2", "train.stop_after=2"]
        assert main(["train", "--config", str(config), "--out", str(run), *steps]) == 0
        mutate(run)

    return prepare


def _state_files(run: Path) -> list[Path]:
    return sorted(run.rglob("*.state.pt"))


def _pickle_state(run: Path) -> None:
    import pickle

    for state in _state_files(run):
        state.write_bytes(pickle.dumps({"optimizer": io.BytesIO(b"x")}))


def _state_without_optimiser(run: Path) -> None:
    for state in _state_files(run):
        saved = torch.load(state, weights_only=True)
        saved.pop("optimizer")
        torch.save(saved, state)


def _weights_of_other_architecture(run: Path) -> None:
    other = create_model("arknet", in_channels=1, widths=(4, 8))
    for weights in sorted(run.rglob("*.safetensors")):
        save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(weights))


def _sweep_input_is_output(d: Path) -> list[str]:
    (d / "out").mkdir()
    return ["sweep", str(photo(d / "out" / "sweep.png", (40, 40))), "--out", str(d / "out")]


def _prepare_pairs_over_inputs(d: Path) -> list[str]:
    for side in ("gt", "blurry"):
        (d / side).mkdir()
        photo(d / side / "a.png", (40, 40))
    return ["prepare-pairs", "--gt", str(d / "gt"), "--blurry", str(d / "blurry"), "-o", str(d)]


def _blurmap_folder_truncated(d: Path) -> list[str]:
    (d / "in").mkdir()
    photo(d / "in" / "a_good.png")
    truncated(d / "in" / "b_bad.png")
    return ["blurmap", str(d / "in"), "-o", str(d / "out")]


def _blurmap_nan_tiff(d: Path) -> list[str]:
    return ["blurmap", str(float_tiff(d / "a.tif", np.nan)), "-o", str(d / "out")]


def _blurmap_output_is_input(d: Path) -> list[str]:
    """An input named like another input's output (``a.defocus.png``)."""
    photo(d / "a.png")
    photo(d / "a.defocus.png", seed=1)
    return ["blurmap", str(d / "a.png"), str(d / "a.defocus.png"), "-o", str(d)]


def _demo_psf_is_output(d: Path) -> list[str]:
    psf = photo(d / "comparison.png", (5, 5), channels=1)
    return ["demo", "--out", str(d), "--psf", str(psf)]


CASES = [
    # 1. report files that are inputs
    Case("score-csv-is-input", _score_report_is_input("--csv")),
    Case("score-json-is-input", _score_report_is_input("--json")),
    Case("score-csv-is-reference", _score_report_is_reference),
    Case("score-json-in-input-folder", _score_report_in_input_folder),
    Case("score-csv-and-json-same-file", _score_same_report_twice),
    # 2. never write over a file the command reads
    Case("degrade-psf-is-output-psf", _degrade_psf_in_out),
    Case("degrade-output-image-is-psf", _degrade_psf_image_overwritten),
    Case("sweep-input-is-output", _sweep_input_is_output),
    Case("prepare-pairs-output-is-input", _prepare_pairs_over_inputs),
    Case("demo-psf-is-output", _demo_psf_is_output),
    # 3. nothing written when one input of a folder is bad
    Case("blurmap-folder-truncated", _blurmap_folder_truncated),
    Case("blurmap-nan-tiff", _blurmap_nan_tiff),
    Case("blurmap-output-is-input", _blurmap_output_is_input),
    Case("degrade-folder-truncated", _folder_good_then_truncated("degrade")),
    Case("deblur-folder-truncated", _folder_good_then_truncated("deblur")),
    Case("deblur-model-folder-truncated", _folder_good_then_truncated_model),
    # 5. non-finite and absurd values
    Case(
        "deblur-nan-tiff",
        _with_image("deblur", "--psf", "disk:1", make=lambda d: float_tiff(d / "a.tif", np.nan)),
    ),
    Case(
        "degrade-inf-tiff", _with_image("degrade", make=lambda d: float_tiff(d / "a.tif", np.inf))
    ),
    Case(
        "deblur-model-nan-tiff",
        _with_image("deblur", "--device", "cpu", make=lambda d: float_tiff(d / "a.tif", np.nan)),
    ),
    Case("deblur-balance-nan", _with_image("deblur", "--psf", "disk:1", "--balance", "nan")),
    Case("deblur-balance-negative", _with_image("deblur", "--psf", "disk:1", "--balance", "-1")),
    Case("deblur-balance-inf", _with_image("deblur", "--psf", "disk:1", "--balance", "inf")),
    Case("degrade-noise-nan", _with_image("degrade", "--noise", "nan")),
    Case("degrade-noise-inf", _with_image("degrade", "--noise", "inf")),
    Case("degrade-poisson-nan", _with_image("degrade", "--poisson-peak", "nan")),
    Case("degrade-poisson-inf", _with_image("degrade", "--poisson-peak", "inf")),
    Case("train-lr-nan", _train(lambda d: smoke_config(d / "c.toml", lr="nan"))),
    Case("train-lr-override-inf", _train(lambda d: smoke_config(d / "c.toml"), "optim.lr=inf")),
    Case(
        "deblur-model-nan-weights",
        lambda d: [
            "deblur",
            str(photo(d / "a.png")),
            "-o",
            str(d / "o.png"),
            "--model",
            str(nan_model(d / "m.safetensors")),
        ],
    ),
    Case("degrade-psf-nan", _psf_file(lambda d: npy(d / "k.npy", np.full((3, 3), np.nan)))),
    Case("degrade-psf-huge-values", _psf_file(lambda d: npy(d / "k.npy", np.full((3, 3), 1e308)))),
    Case(
        "deblur-psf-huge-values",
        _psf_file(lambda d: npy(d / "k.npy", np.full((3, 3), 1e308)), "deblur"),
    ),
    Case("degrade-psf-zero", _psf_file(lambda d: npy(d / "k.npy", np.zeros((3, 3))))),
    Case("degrade-psf-negative", _psf_file(lambda d: npy(d / "k.npy", -np.ones((3, 3))))),
    Case(
        "deblur-psf-negative-sum",
        _psf_file(lambda d: npy(d / "k.npy", np.array([[1.0, -1.0]])), "deblur"),
    ),
    # 6. resource bounds
    Case("degrade-disk-1e9", _with_image("degrade", "--psf", "disk:1e9")),
    Case("degrade-gaussian-1e6", _with_image("degrade", "--psf", "gaussian:1e6")),
    Case("degrade-box-1e9", _with_image("degrade", "--psf", "box:1e9")),
    Case("deblur-disk-1e9", _with_image("deblur", "--psf", "disk:1e9")),
    Case("degrade-psf-larger-than-image", _with_image("degrade", "--psf", "disk:40")),
    Case("deblur-psf-larger-than-image", _with_image("deblur", "--psf", "box:33")),
    Case(
        "deblur-iterations-1e9",
        _with_image(
            "deblur", "--psf", "disk:1", "--method", "richardson-lucy", "--iterations", "1000000000"
        ),
    ),
    # 7. tracebacks that must become one-line errors
    Case("degrade-1x1-image", _with_image("degrade", make=lambda d: photo(d / "a.png", (1, 1)))),
    Case(
        "deblur-2x2-image",
        _with_image("deblur", "--psf", "disk:3", make=lambda d: photo(d / "a.png", (2, 2))),
    ),
    Case(
        "deblur-1xN-image",
        _with_image(
            "deblur",
            "--psf",
            "disk:3",
            "--method",
            "mlm",
            make=lambda d: photo(d / "a.png", (1, 40)),
        ),
    ),
    Case("degrade-Nx1-image", _with_image("degrade", make=lambda d: photo(d / "a.png", (40, 1)))),
    Case("degrade-zero-byte-npy", _psf_file(_raw_file("k.npy", b""))),
    Case("degrade-garbage-npy", _psf_file(_raw_file("k.npy", b"\x93NUMPY garbage"))),
    Case("degrade-string-npy", _psf_file(lambda d: npy(d / "k.npy", np.array([["a", "b"]])))),
    Case("deblur-structured-npy", _psf_file(_structured_npy, "deblur")),
    Case("degrade-object-npy", _psf_file(lambda d: npy(d / "k.npy", np.array([[1, None]])))),
    Case("degrade-complex-npy", _psf_file(lambda d: npy(d / "k.npy", np.ones((3, 3)) * 1j))),
    Case("train-resume-pickle-state", _train_resume(_checkpoint_run(_pickle_state))),
    Case("train-resume-no-optimiser", _train_resume(_checkpoint_run(_state_without_optimiser))),
    Case(
        "train-resume-other-architecture",
        _train_resume(_checkpoint_run(_weights_of_other_architecture)),
    ),
    # 8. decided explicitly: refused
    Case("train-resume-empty-folder", _train_resume(_empty_run)),
    Case("train-resume-missing-folder", _train_resume(lambda run: None)),
    Case(
        "deblur-multipage-tiff",
        _with_image("deblur", "--psf", "disk:1", make=lambda d: multipage_tiff(d / "m.tif")),
    ),
    Case(
        "degrade-float-tiff-above-one",
        _with_image("degrade", make=lambda d: float_tiff(d / "a.tif", 1.5)),
    ),
    Case(
        "deblur-float-tiff-negative",
        _with_image("deblur", "--psf", "disk:1", make=lambda d: float_tiff(d / "a.tif", -0.25)),
    ),
    Case(
        "deblur-output-gif",
        lambda d: ["deblur", str(photo(d / "a.png")), "-o", str(d / "x.gif"), "--psf", "disk:1"],
    ),
    Case(
        "deblur-output-txt",
        lambda d: ["deblur", str(photo(d / "a.png")), "-o", str(d / "x.txt"), "--psf", "disk:1"],
    ),
    Case(
        "degrade-output-with-extension",
        lambda d: ["degrade", str(photo(d / "a.png")), "-o", str(d / "x.txt")],
    ),
    Case("degrade-negative-seed", _with_image("degrade", "--noise", "0.01", "--seed", "-1")),
    Case(
        "sweep-absurd-amount",
        lambda d: [
            "sweep",
            str(photo(d / "a.png", (40, 40))),
            "--amounts",
            "0,1e308",
            "--out",
            str(d / "sw"),
        ],
    ),
    # argument errors are one line too
    Case("argparse-unknown-option", lambda d: ["score", str(photo(d / "a.png")), "--bogus"]),
    Case(
        "argparse-bad-int",
        lambda d: [
            "deblur",
            str(photo(d / "a.png")),
            "-o",
            str(d / "o.png"),
            "--psf",
            "disk:1",
            "--iterations",
            "many",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_command_line_fails_cleanly_and_loses_nothing(case, tmp_path, capsys):
    argv = case.setup(tmp_path)
    capsys.readouterr()
    before = snapshot(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code not in (0, None), f"exit {code}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("defocus: error: "), err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before
