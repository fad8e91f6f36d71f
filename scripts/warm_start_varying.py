"""Start a VaryingWienerUNet from WienerUNet weights (the first step of configs/default_v2.toml).

VaryingWienerUNet's fusion U-Net sees WienerUNet's 16 inputs (the blurry image and the
differences of the 15 global candidates) first, then the local candidates and two
hints; its outputs are WienerUNet's 16 logits, the local candidates' logits, then the
residual. This copies every WienerUNet weight to its place, gives the new inputs zero
weights and the local candidates' logits zero weights and a bias ``--local-bias``
below the input's, so the start behaves as WienerUNet (without its "no defocus
detected" switch) and training learns where the local candidates help.

    python scripts/warm_start_varying.py --out runs/default_v2/init.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import save_file

from defocus.io.weights import architecture_metadata, load_weights
from defocus.models import create_model
from defocus.models.registry import resolve_weights

FIRST, HEAD = "fusion.enc0.0.0", "fusion.head"


def warm_start(source: str, local_bias: float) -> torch.nn.Module:
    """A VaryingWienerUNet holding ``source``'s WienerUNet weights (see the module docstring)."""
    old = create_model("wiener-unet", in_channels=1)
    load_weights(old, resolve_weights(source))
    new = create_model("varying-wiener-unet", in_channels=1)
    before, state = old.state_dict(), new.state_dict()
    inputs = 1 + old.bank.candidates  # y and the global candidates, in both
    with torch.no_grad():
        for key, value in before.items():
            target = state[key]
            if key == f"{FIRST}.weight":
                target.zero_()
                target[:, :inputs] = value
            elif key.startswith(HEAD):
                target[:inputs] = value[:inputs]
                target[-1] = value[-1]  # the residual
                target[inputs:-1] = 0 if key.endswith("weight") else value[0] - local_bias
            else:
                target.copy_(value)
    new.load_state_dict(state)
    return new


def add_uniform_candidate(varying: str, source: str, local_bias: float) -> torch.nn.Module:
    """A VaryingWienerUNet with v1's output as a candidate, started from ``varying``."""
    old = create_model("varying-wiener-unet", in_channels=1)
    load_weights(old, resolve_weights(varying))
    reference = create_model("wiener-unet", in_channels=1)
    load_weights(reference, resolve_weights(source))
    new = create_model("varying-wiener-unet", in_channels=1, uniform_candidate=True)
    before, state = old.state_dict(), new.state_dict()
    images = old.images  # the candidates before v1's output, in both
    with torch.no_grad():
        for key, value in reference.fusion.state_dict().items():
            state[f"uniform.{key}"].copy_(value)
        for key, value in before.items():
            target = state[key]
            if key == f"{FIRST}.weight":  # inputs: images, v1's output (new), hints
                target.zero_()
                target[:, :images] = value[:, :images]
                target[:, images + 1 :] = value[:, images:]
            elif key.startswith(HEAD):  # outputs: logits, v1's logit (new), residual
                target[:images] = value[:images]
                target[-1] = value[-1]
                target[images] = 0 if key.endswith("weight") else value[0] - local_bias
            else:
                target.copy_(value)
    new.load_state_dict(state)
    return new


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="wiener-unet-defocus-v1", help="WienerUNet weights")
    parser.add_argument("--local-bias", type=float, default=1.0)
    parser.add_argument("--uniform-from", help="VaryingWienerUNet weights to add v1's output to")
    parser.add_argument("--out", required=True, help="safetensors file to write")
    args = parser.parse_args()
    if args.uniform_from:
        model = add_uniform_candidate(args.uniform_from, args.source, args.local_bias)
        options: dict[str, object] | None = {"uniform_candidate": True}
    else:
        model, options = warm_start(args.source, args.local_bias), None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(state, args.out, architecture_metadata("varying-wiener-unet", 1, options))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
