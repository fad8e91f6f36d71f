"""Refactors must not change results: demo and default-model outputs against stored hashes.

The hashes are SHA-256 digests of the 8-bit outputs (and of the demo's metrics table)
computed by the code as it stood before the contracts refactor (issue 11). Network
outputs depend on the precision the run resolves to, so each precision has its own
hashes; a machine whose precision has none skips (it cannot be compared, not passed).
Regenerate only for a deliberate change of results:
``python tests/golden/test_golden_outputs.py`` prints the current digests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from defocus.assets import sample_image_path
from defocus.classical import wiener
from defocus.classical.blind import blind_wiener
from defocus.cli.main import main
from defocus.degrade import add_noise, blur, parse_psf
from defocus.infer import deblur
from defocus.io import quantise, read_image
from defocus.runtime.precision import autocast_dtype

HASHES = Path(__file__).with_name("hashes.json")
DEMO_FILES = ("reference.png", "blurry.png", "restored.png", "metrics.csv")
CASES = (("disk:2", 0.01, 1), ("disk:4", 0.02, 2), ("gaussian:1.5", 0.005, 3))


def digest(data: bytes | np.ndarray) -> str:
    """SHA-256 of bytes or of an array's raw buffer."""
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(raw).hexdigest()


def case_input(spec: str, sigma: float, seed: int) -> torch.Tensor:
    """The bundled photo blurred by ``spec``, noisy, 8-bit; ``(1, 3, H, W)``."""
    sharp = read_image(sample_image_path()).pixels[None].double()
    noisy = add_noise(blur(sharp, parse_psf(spec)), sigma, torch.Generator().manual_seed(seed))
    return quantise(noisy.clamp(0, 1), 8).float()


MODELS = {"deblur": "wiener-unet-defocus-v1", "deblur-v2": "wiener-unet-defocus-v2"}
"""Digest key prefix → shipped weights (v1's digests predate v2, which is the default)."""


def library_digests(precision: str) -> dict[str, str]:
    """Digests of the shipped models (``deblur``), blind and non-blind Wiener per case."""
    out = {}
    for spec, sigma, seed in CASES:
        y = case_input(spec, sigma, seed)
        for key, weights in MODELS.items():
            restored = deblur(y, weights, device="cpu", precision=precision)
            pixels = quantise(restored, 8).mul(255).round().byte().numpy()
            out[f"{key} {spec}"] = digest(pixels)
        if precision == "fp32":
            # in float64: float32 FFTs can differ in the last bit between processes
            # (memory alignment picks the SIMD path), enough to flip an 8-bit pixel
            y = y.double()
            for name, x in (
                ("blind-wiener", blind_wiener(y)),
                ("wiener", wiener(y, parse_psf(spec), "auto")),
            ):
                pixels = quantise(x.clamp(0, 1), 8).mul(255).round().byte().numpy()
                out[f"{name} {spec}"] = digest(pixels)
    return out


def demo_digests(folder: Path) -> dict[str, str]:
    """Digests of the demo's files in ``folder`` (written by ``defocus demo``)."""
    assert main(["demo", "--out", str(folder), "--device", "cpu"]) == 0
    out = {}
    for name in DEMO_FILES:
        path = folder / name
        if name.endswith(".png"):
            data = read_image(path).pixels.mul(255).round().byte().numpy()
        else:
            data = path.read_bytes()
        out[f"demo {name}"] = digest(data)
    return out


def auto_precision() -> str:
    """What ``precision="auto"`` means for the default model on this CPU."""
    dtype = autocast_dtype("auto", torch.device("cpu"))
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def stored(precision: str) -> dict[str, str]:
    table = json.loads(HASHES.read_text())
    if precision not in table:
        pytest.skip(f"no stored hashes for precision {precision}")
    return table[precision]


def test_default_model_and_wiener_outputs_are_unchanged():
    assert library_digests("fp32") == stored("fp32")


def test_default_precision_outputs_are_unchanged():
    precision = auto_precision()
    if precision == "fp32":
        pytest.skip("auto resolves to fp32 here: covered by the fp32 test")
    assert library_digests("auto") == {
        k: v for k, v in stored(precision).items() if not k.startswith("demo")
    }


def test_demo_output_is_unchanged(tmp_path):
    precision = auto_precision()
    expected = {k: v for k, v in stored(precision).items() if k.startswith("demo")}
    assert demo_digests(tmp_path / "demo") == expected


if __name__ == "__main__":
    import tempfile

    auto = auto_precision()
    with tempfile.TemporaryDirectory() as folder:
        table = {"fp32": library_digests("fp32")}
        table.setdefault(auto, {}).update(library_digests("auto") if auto != "fp32" else {})
        table[auto].update(demo_digests(Path(folder) / "demo"))
    print(json.dumps(table, indent=1, sort_keys=True))
