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


def _grow_fusion(
    new: torch.nn.Module, before: dict[str, torch.Tensor], kept: int, bias: float
) -> None:
    """Load ``before`` into ``new``, whose fusion has inputs and logits added after ``kept``.

    Every weight goes to its place. The first convolution's added input columns (after its
    first ``kept``) get zero weights; the head's added logits (after its first ``kept``,
    before those that follow, the residual last) get zero weights and a bias ``bias``
    below the input's, so that the start mixes as ``before`` did, nearly.
    """
    state = new.state_dict()
    with torch.no_grad():
        for key, value in before.items():
            target = state[key]
            if key == f"{FIRST}.weight":
                added = target.shape[1] - value.shape[1]
                target.zero_()
                target[:, :kept] = value[:, :kept]
                target[:, kept + added :] = value[:, kept:]
            elif key.startswith(HEAD):
                added = target.shape[0] - value.shape[0]
                target[:kept] = value[:kept]
                target[kept + added :] = value[kept:]
                target[kept : kept + added] = 0 if key.endswith("weight") else value[0] - bias
            else:
                target.copy_(value)
    new.load_state_dict(state)


def warm_start(source: str, local_bias: float) -> torch.nn.Module:
    """A VaryingWienerUNet holding ``source``'s WienerUNet weights (see the module docstring)."""
    old = create_model("wiener-unet", in_channels=1)
    load_weights(old, resolve_weights(source))
    new = create_model("varying-wiener-unet", in_channels=1)
    # y and the global candidates come first in both
    _grow_fusion(new, old.state_dict(), 1 + old.bank.candidates, local_bias)
    return new


def add_uniform_candidate(varying: str, source: str, local_bias: float) -> torch.nn.Module:
    """A VaryingWienerUNet with v1's output as a candidate, started from ``varying``."""
    old = create_model("varying-wiener-unet", in_channels=1)
    load_weights(old, resolve_weights(varying))
    reference = create_model("wiener-unet", in_channels=1)
    load_weights(reference, resolve_weights(source))
    new = create_model("varying-wiener-unet", in_channels=1, uniform_candidate=True)
    assert new.uniform is not None
    new.uniform.load_state_dict(reference.fusion.state_dict())
    # v1's output is the candidate after all of ``old``'s; the hints follow it
    _grow_fusion(new, old.state_dict(), old.images, local_bias)
    return new


def add_local_hint(varying: str, share: float = 0.0) -> torch.nn.Module:
    """A VaryingWienerUNet with the local GCV hint, started from ``varying``.

    The hint is a new input after the others. With ``share = 0`` it has zero weights:
    the start restores exactly as ``varying`` does. Otherwise it takes that fraction of
    the blur-map radius's input weights (which keeps the rest): both radii are scaled
    alike, so the start reads the radius ``(1 − share) · map + share · GCV`` wherever it
    read the map's, i.e. exactly as ``varying`` where the two agree. The head gains no
    logits.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    old = create_model("varying-wiener-unet", in_channels=1)
    load_weights(old, resolve_weights(varying))
    new = create_model("varying-wiener-unet", in_channels=1, local_hint=True)
    _grow_fusion(new, old.state_dict(), old.images + old.hints, 0.0)
    first = dict(new.named_parameters())[f"{FIRST}.weight"]
    radius, local = old.images, old.images + old.hints  # their input columns
    with torch.no_grad():
        first[:, local] = share * first[:, radius]
        first[:, radius] *= 1 - share
    return new


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="wiener-unet-defocus-v1", help="WienerUNet weights")
    parser.add_argument("--local-bias", type=float, default=1.0)
    parser.add_argument("--uniform-from", help="VaryingWienerUNet weights to add v1's output to")
    parser.add_argument("--local-hint-from", help="VaryingWienerUNet weights to add the hint to")
    parser.add_argument(
        "--share", type=float, default=0.0, help="the hint's share of the radius weights"
    )
    parser.add_argument("--out", required=True, help="safetensors file to write")
    args = parser.parse_args()
    if args.uniform_from and args.local_hint_from:
        parser.error("give one of --uniform-from and --local-hint-from")
    if args.local_hint_from:
        model = add_local_hint(args.local_hint_from, args.share)
        options: dict[str, object] | None = {"local_hint": True}
    elif args.uniform_from:
        model = add_uniform_candidate(args.uniform_from, args.source, args.local_bias)
        options = {"uniform_candidate": True}
    else:
        model, options = warm_start(args.source, args.local_bias), None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(state, args.out, architecture_metadata("varying-wiener-unet", 1, options))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
