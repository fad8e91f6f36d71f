import math
from pathlib import Path

import pytest
import torch

from defocus.bench.evaluate import evaluate, restorer, wiener_oracle
from defocus.bench.protocols import BAND_RADII, load_cases
from defocus.classical.wiener import wiener
from defocus.errors import DefocusError
from defocus.metrics.fidelity import psnr

METRICS = ("psnr", "ssim", "q")


def test_records_hold_every_metric_group_and_time(test_root: Path) -> None:
    cases = load_cases("defocus", test_root, limit=1)
    records = evaluate(restorer("blurry"), cases, (*METRICS, "j"), method="blurry")
    assert len(records) == len(cases)
    first = records[0]
    assert first["method"] == "blurry" and first["name"] == cases[0].name
    assert first["group"] == "Kodak24/disk:1" and first["psf"] == "disk:1"
    assert first["radius"] == 1.0 and first["seconds"] >= 0
    expected = float(psnr(cases[0].blurry, cases[0].sharp))
    assert first["psnr"] == pytest.approx(expected, rel=1e-6)
    assert math.isfinite(first["j"])  # J gets the blurry image too


def test_outputs_are_clamped_before_scoring(test_root: Path) -> None:
    cases = load_cases("mmsp", test_root, limit=1)
    records = evaluate(lambda y, psf: y * 10 - 5, cases, ("psnr",))
    clamped = (cases[0].blurry * 10 - 5).clamp(0, 1)
    assert records[0]["psnr"] == pytest.approx(float(psnr(clamped, cases[0].sharp)), rel=1e-6)


def test_wiener_oracle_beats_every_fixed_balance_it_searched(test_root: Path) -> None:
    case = load_cases("defocus", test_root, limit=1)[2]
    restored, balance = wiener_oracle(case.blurry, case.psf, case.sharp)
    best = float(psnr(restored.clamp(0, 1), case.sharp))
    for fixed in (1e-4, 1e-3, 1e-2, 1e-1):
        other = wiener(case.blurry, case.psf, fixed).clamp(0, 1)
        assert best >= float(psnr(other, case.sharp)) - 1e-6
    assert 1e-8 < balance < 10


def test_classical_methods_get_the_true_psf(test_root: Path) -> None:
    cases = load_cases("mmsp", test_root, limit=1)
    by_name = {
        r["method"]: r
        for m in ("blurry", "richardson-lucy")
        for r in evaluate(restorer(m), cases[:1], ("psnr",), method=m)
    }
    assert by_name["richardson-lucy"]["psnr"] > by_name["blurry"]["psnr"] + 1


def test_model_restorer_from_a_weights_file(test_root: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from defocus.models import create_model

    model = create_model("tiny-unet", in_channels=1)
    path = tmp_path / "w.safetensors"
    save_file(model.state_dict(), str(path))
    cases = load_cases("mmsp", test_root, limit=1)
    records = evaluate(restorer(f"model:{path}"), cases, ("psnr",))
    assert all(math.isfinite(r["psnr"]) for r in records)
    with torch.no_grad():
        expected = model.eval()(cases[0].blurry).clamp(0, 1)
    assert records[0]["psnr"] == pytest.approx(float(psnr(expected, cases[0].sharp)), rel=1e-5)


def test_adapt_restorer_tunes_the_network_on_each_image(test_root: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from defocus.io.weights import architecture_metadata
    from defocus.models import create_model
    from defocus.models.reblur import ReblurModule

    torch.manual_seed(0)
    model, module = tmp_path / "w.safetensors", tmp_path / "m.safetensors"
    save_file(create_model("tiny-unet").state_dict(), str(model))
    options = {"features": 8, "blocks": 1}
    metadata = architecture_metadata("reblur-module", 1, options)
    save_file(ReblurModule(1, **options).state_dict(), str(module), metadata=metadata)
    cases = load_cases("mmsp", test_root, limit=1)
    plain = evaluate(restorer(f"model:{model}"), cases, ("psnr",))
    adapted = evaluate(restorer(f"adapt:{model}@{module}"), cases, ("psnr",))
    assert all(math.isfinite(r["psnr"]) for r in adapted)
    assert [r["psnr"] for r in adapted] != [r["psnr"] for r in plain]
    with pytest.raises(DefocusError, match="no reblurring module is matched"):
        restorer(f"adapt:{model}")


def test_unknown_method_is_a_clear_error() -> None:
    with pytest.raises(DefocusError, match="unknown method 'nope'"):
        restorer("nope")


def test_windows_of_one_scene_are_restored_once_and_scored_on_their_window(test_root: Path) -> None:
    cases = load_cases("depth", test_root, limit=1)[: len(BAND_RADII)]
    calls = []

    def restore(blurry, psf):
        calls.append(blurry)
        return blurry

    records = evaluate(restore, cases, metrics=("psnr",), method="blurry")
    assert len(calls) == 1
    # the sharp band is the reference plus noise: far higher PSNR than the blurriest
    assert records[0]["psnr"] > records[-1]["psnr"] + 3
    top, _, height, _ = cases[1].window
    window = (cases[1].blurry.clamp(0, 1) - cases[1].sharp)[..., top : top + height, :]
    expected = -10 * torch.log10(window.square().mean())
    assert abs(records[1]["psnr"] - float(expected)) < 0.05
