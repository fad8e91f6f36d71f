"""Train the seed's blur-level CNN (``gwis-cnn``) on its §4.2 recipe and export it.

Usage: python scripts/train_gwis_cnn.py [--root ../shared/data/train/CBSD432]
       [--crops 240] [--crop 128] [--steps 3000] [--out runs/gwis-cnn]
       [--export src/defocus/weights/gwis_cnn_v1.safetensors]

1. Targets (cached in ``OUT/targets.pt``): random crops of training photos (the last
   16 photos by name are held out), each degraded once as in the seed
   (:func:`~defocus.blurmap.gwis_targets.seed_degradation`), sharpened by GWIS with
   every parameter 0.5 ... 8; per pixel the best parameter by 11x11 SSIM; the 1 % most
   important pixels of each crop kept (:func:`gwis_parameter_targets`). TID2013 is
   not here; the crops stand in for its images.
2. Training: 31x31 patches centred on the kept pixels, luma, target ``log(1 + 2σ)``
   (the blur-map contract, see :class:`~defocus.blurmap.network.GwisBlurCNN`), squared
   error, Adam. Held-out crops report the error.
3. Export: safetensors with the architecture in its metadata, loadable by
   ``defocus.blurmap.load_estimator``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from defocus.blurmap.gwis_targets import gwis_parameter_targets, seed_degradation
from defocus.blurmap.network import GwisBlurCNN
from defocus.color import to_luma
from defocus.io import list_images, read_image
from defocus.io.weights import architecture_metadata

HELD_OUT = 16
HALF = 15  # 31x31 patches


def build_targets(files: list[Path], crops: int, side: int, seed: int) -> dict[str, torch.Tensor]:
    """Patches ``(N, 1, 31, 31)`` and best parameters ``(N,)`` with their crop index."""
    rng = np.random.default_rng(seed)
    patches, sigmas, owners = [], [], []
    start = time.perf_counter()
    for crop_index in range(crops):
        photo = read_image(files[int(rng.integers(0, len(files)))]).pixels[None]
        top = int(rng.integers(0, photo.shape[-2] - side + 1))
        left = int(rng.integers(0, photo.shape[-1] - side + 1))
        crop = photo[..., top : top + side, left : left + side]
        sharp = (to_luma(crop) if crop.shape[1] == 3 else crop).double()
        blurry, _, _ = seed_degradation(sharp, rng)
        best, kept = gwis_parameter_targets(blurry, sharp)
        where = kept.flatten()
        padded = F.pad(blurry, (HALF,) * 4, mode="replicate")
        columns = F.unfold(padded, 2 * HALF + 1)[0].T[where]  # (N, 31 * 31)
        patches.append(columns.float().view(-1, 2 * HALF + 1, 2 * HALF + 1))
        sigmas.append(best.flatten()[where].float())
        owners.append(torch.full((int(where.sum()),), crop_index))
        if crop_index % 20 == 19:
            elapsed = time.perf_counter() - start
            print(f"targets: {crop_index + 1}/{crops} crops, {elapsed:.0f} s", flush=True)
    return {
        "patches": torch.cat(patches)[:, None],
        "sigma": torch.cat(sigmas),
        "crop": torch.cat(owners),
    }


def main() -> None:
    """Build the targets (or read them), train, report, export."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/train/CBSD432")
    parser.add_argument("--crops", type=int, default=240)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/gwis-cnn")
    parser.add_argument("--export", default="")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "targets.pt"
    files = list_images(args.root)
    if cache.is_file():
        data = torch.load(cache, weights_only=True)
    else:
        train_files = files[:-HELD_OUT]
        data = build_targets(train_files, args.crops, args.crop, args.seed)
        held = build_targets(files[-HELD_OUT:], max(16, args.crops // 10), args.crop, args.seed + 1)
        data.update({f"held_{k}": v for k, v in held.items()})
        torch.save(data, cache)
    target = torch.log1p(2 * data["sigma"])[:, None, None, None]
    held_target = torch.log1p(2 * data["held_sigma"])[:, None, None, None]
    print(f"{len(target)} training patches, {len(held_target)} held-out", flush=True)
    torch.manual_seed(args.seed)
    network = GwisBlurCNN(in_channels=1)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)

    def centre(x: torch.Tensor) -> torch.Tensor:  # the one output the patch determines
        return network.layers(x)[..., :1, :1]

    for step in range(args.steps):
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        pick = torch.randint(0, len(target), (args.batch,), generator=generator)
        x = data["patches"][pick]
        flips = torch.randint(0, 2, (2,), generator=generator)
        x = x.flip(-1) if flips[0] else x
        x = x.flip(-2) if flips[1] else x
        loss = (centre(x) - target[pick]).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 500 == 0 or step == args.steps - 1:
            with torch.no_grad():
                held = (centre(data["held_patches"]) - held_target).square().mean()
            print(f"step {step}: loss {loss.item():.4f}, held-out {held.item():.4f}", flush=True)
    with torch.no_grad():
        predicted = torch.expm1(centre(data["held_patches"]).flatten()) / 2
    truth = data["held_sigma"]
    ratio = (predicted.clamp_min(1e-3) / truth).log().abs()
    baseline = (truth / truth.median()).log().abs()
    print(
        f"held-out median |log(σ̂/σ)| {float(ratio.median()):.3f} "
        f"(a constant σ = median: {float(baseline.median()):.3f})"
    )
    if args.export:
        metadata = architecture_metadata("gwis-cnn", 1)
        save_file(network.state_dict(), args.export, metadata=metadata)
        print(f"wrote {args.export}")


if __name__ == "__main__":
    main()
