"""Fine-tune a blur-map U-Net into the defocus detector on whole real photos.

Usage: OMP_NUM_THREADS=2 python scripts/train_defocus_detector.py
       [--root ../shared/data/real/CUHK-defocus] [--train-last 350] [--val-last 400]
       [--steps 3000] [--architecture blurmap-unet] [--init blurmap-unet-v1]
       [--zoom 0] [--scenes 0] [--scene-root ../shared/data/train/CBSD432]
       [--out runs/detector] [--export src/defocus/weights/...]

The shipped ``blurmap-unet-v1`` judges 256 px crops at CUHK's scale, which rarely hold
a whole subject: its probabilities are soft (MAE 0.30) wherever a region's sharpness
is not visible locally (skin, sky, flat shirts). This recipe gives it the whole photo
instead:

1. Photos and masks are resized to a long side of :data:`DETECTION_SIDE` (320 px), so
   a 192 px crop holds most of a photo and the network's receptive field spans it;
   ``--zoom z`` rescales each crop by a log-uniform factor in ``[e^-z, e^z]``.
2. The network (``--architecture``) is ``blurmap-unet`` with a sixth level (128
   channels) for more context, or ``blurmap-unet-context``, which adds frozen ImageNet
   AlexNet features; it starts from ``--init``'s weights (new tensors as built).
3. ``--scenes f``: each crop is, with probability ``f``, a synthetic scene of a
   training photo instead (``--scene-root``, resized to a long side of 320-400 px):
   a quarter are the photo all in focus through the camera (target 0 everywhere: CUHK
   has no photo without defocus, so without them the detector calls a third of a sharp
   photo defocused), the rest the realistic family of ``defocus.data.realistic``
   (layers, ramps, real lens PSFs, noise, JPEG) with radii up to :data:`SCENE_RADIUS`
   px; target ``clamp(r - 0.5, 0, 1)`` of the true radius ``r``. The last
   :data:`SCENE_HELD` photos validate (mean probability on them as they are, and
   Fβ / MAE on fixed scenes of them).
4. Binary cross-entropy of the defocus logit against the area-averaged mask; Adam, one
   cycle to ``--lr``, bfloat16 autocast where the CPU has it natively (float32
   elsewhere), batches of 8 crops with flips and brightness.

Recipes: ``defocus-detector-v1``: ``--steps 6000``; ``defocus-detector-v2``:
``--architecture blurmap-unet-context --init defocus-detector-v1 --steps 2000
--lr 5e-4 --zoom 0.22``. Tried and not shipped (2026-12-02, from v2, ``--steps 1500
--lr 3e-4 --zoom 0.22``): ``--scenes 0.375`` / ``0.125`` cut the mean probability on
sharp photos from 0.497 to 0.137 / 0.179 but cost CUHK 0351-0400 Fβ / MAE 0.931 / 0.105
-> 0.917 / 0.138 / 0.924 / 0.122.

Photos ``0001..train-last`` are trained on; ``train-last+1..val-last`` validate (Fβ /
MAE every 500 steps); nothing after ``val-last`` (the benchmark's 0401-0500) is read.
The export is the last step, with ``detection_side`` in its metadata.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from defocus.blurmap.learned import DETECTION_SIDE_KEY, SHIPPED_FILES
from defocus.blurmap.network import BLUR_MAP_NETWORKS, LOGIT, BlurMapNetwork
from defocus.blurmap.scores import defocus_scores
from defocus.data.masks import defocus_mask_pairs, read_defocus_mask
from defocus.data.realistic import RealisticDegradation, random_region, render_realistic
from defocus.io import list_images, read_image
from defocus.io.weights import WEIGHTS_DIR, architecture_metadata
from defocus.runtime.precision import autocast_dtype, network_precision

DETECTION_SIDE = 320
"""Long side (px) at which the detector reads photos."""
WIDTHS = (16, 32, 48, 64, 96, 128)
"""Channels per level: the shipped estimator's five plus one coarser level."""
SCENE_RADIUS = 8.0
"""Largest blur radius (px at the detection side) of the synthetic scenes."""
SCENE_HELD = 32
"""Scene photos (the last of ``--scene-root``) kept for validation."""
SCENE_MARGIN = int(SCENE_RADIUS) + 2
SHARP_SCENES = 0.25
"""Fraction of the synthetic scenes left all in focus."""


def load_scene_photo(path: Path, rng: np.random.Generator) -> torch.Tensor:
    """A training photo resized to a long side of 320-400 px, ``(3, h, w)``."""
    pixels = read_image(path).pixels[None]
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    scale = rng.uniform(DETECTION_SIDE, 1.25 * DETECTION_SIDE) / max(pixels.shape[-2:])
    size = (round(pixels.shape[-2] * scale), round(pixels.shape[-1] * scale))
    return F.interpolate(pixels, size=size, mode="bilinear", antialias=True)[0]


def synthetic_scene(
    photos: list[torch.Tensor], rng: np.random.Generator, side: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``side`` px scene of random photos and its soft defocus target (see step 3).

    Shape:
        ``(3, side, side)`` and ``(1, side, side)``.
    """
    crop = side + 2 * SCENE_MARGIN
    sharp, texture = (
        random_region(rng, photos[int(i)], crop) for i in rng.integers(0, len(photos), 2)
    )
    if rng.random() < SHARP_SCENES:
        config = RealisticDegradation(scene_weights=(1, 0, 0), in_focus=1.0)
    else:
        config = RealisticDegradation(max_radius=SCENE_RADIUS)
    blurry, _, radius = render_realistic(sharp, texture, rng, config, SCENE_MARGIN)
    return blurry, (radius - 0.5).clamp(0, 1)


def load_photo(image: Path, mask: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A photo and its mask at the detection side, and the full-size mask.

    Shape:
        ``(3, h, w)``, ``(1, h, w)``, ``(1, H, W)``.
    """
    pixels = read_image(image).pixels[None]
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    full = read_defocus_mask(mask)
    scale = DETECTION_SIDE / max(pixels.shape[-2:])
    size = (round(pixels.shape[-2] * scale), round(pixels.shape[-1] * scale))
    small = F.interpolate(pixels, size=size, mode="bilinear", antialias=True, align_corners=False)
    target = F.interpolate(full[None], size=size, mode="area")
    return small[0], target[0], full


def logits(network: BlurMapNetwork, images: torch.Tensor) -> torch.Tensor:
    """Defocus logits, under bfloat16 autocast where the CPU has native bfloat16.

    Shape:
        ``(B, 3, h, w)`` -> ``(B, 1, h, w)``.
    """
    with network_precision(autocast_dtype("auto", images.device), images.device):
        raw = network(images.contiguous(memory_format=torch.channels_last))
    return raw.float()[:, LOGIT : LOGIT + 1]


def validate(
    network: BlurMapNetwork, photos: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
) -> tuple[float, float]:
    """Mean Fβ and MAE of the probability, up-sampled to each full-size mask."""
    if not photos:
        return float("nan"), float("nan")
    network.eval()
    scores = []
    with torch.no_grad():
        for image, _, full in photos:
            probability = torch.sigmoid(logits(network, image[None]))
            probability = F.interpolate(probability, size=full.shape[-2:], mode="bilinear")
            result = defocus_scores(probability, full[None])
            scores.append((float(result["f_beta"]), float(result["mae"])))
    network.train()
    f_beta, mae = np.mean(scores, axis=0)
    return float(f_beta), float(mae)


def mean_probability(network: BlurMapNetwork, photos: list[torch.Tensor]) -> float:
    """Mean defocus probability over whole photos (all in focus: lower is better)."""
    if not photos:
        return float("nan")
    network.eval()
    with torch.no_grad():
        means = [float(torch.sigmoid(logits(network, photo[None])).mean()) for photo in photos]
    network.train()
    return float(np.mean(means))


def main() -> None:
    """Read the photos, fine-tune, validate, export."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default="../shared/data/real/CUHK-defocus")
    parser.add_argument("--train-last", type=int, default=350)
    parser.add_argument("--val-last", type=int, default=400)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--zoom", type=float, default=0.0, help="log-uniform scale jitter")
    parser.add_argument("--architecture", default="blurmap-unet", choices=BLUR_MAP_NETWORKS.names())
    parser.add_argument("--init", default="blurmap-unet-v1", choices=sorted(SHIPPED_FILES))
    parser.add_argument("--scenes", type=float, default=0.0, help="synthetic scene fraction")
    parser.add_argument("--scene-root", default="../shared/data/train/CBSD432")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/detector")
    parser.add_argument("--export", default="")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    pairs = defocus_mask_pairs(args.root)
    train = [load_photo(*pair) for pair in pairs[: args.train_last]]
    held = [load_photo(*pair) for pair in pairs[args.train_last : args.val_last]]
    scene_photos: list[torch.Tensor] = []
    if args.scenes > 0:
        scene_photos = [load_scene_photo(path, rng) for path in list_images(args.scene_root)]
    scene_train, scene_held = scene_photos[:-SCENE_HELD], scene_photos[-SCENE_HELD:]
    held_rng = np.random.default_rng(args.seed + 1)
    held_scenes = []
    for photo in scene_held:
        image, target = synthetic_scene([photo], held_rng, args.crop)
        held_scenes.append((image, target, (target > 0.5).float()))
    network = BLUR_MAP_NETWORKS.create(args.architecture, in_channels=3, widths=WIDTHS)
    start_from = load_file(str(WEIGHTS_DIR / SHIPPED_FILES[args.init]))
    missing = network.load_state_dict(start_from, strict=False).missing_keys
    print(f"started from {args.init}; new: {len(missing)} tensors")
    network = network.to(memory_format=torch.channels_last).train()
    trained = [p for p in network.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trained, args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, args.lr, total_steps=args.steps, pct_start=0.05
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = [
        ("step", "loss", "val_f_beta", "val_mae", "scene_f_beta", "scene_mae", "sharp_p", "seconds")
    ]
    start = time.perf_counter()

    def report(step: int, loss: float) -> None:
        f_beta, mae = validate(network, held)
        scene_f_beta, scene_mae = validate(network, held_scenes)
        sharp_p = mean_probability(network, scene_held)
        seconds = time.perf_counter() - start
        log.append((step, loss, f_beta, mae, scene_f_beta, scene_mae, sharp_p, seconds))
        print(
            f"step {step}: loss {loss:.3f}, val Fβ {f_beta:.3f} MAE {mae:.3f}, "
            f"scenes Fβ {scene_f_beta:.3f} MAE {scene_mae:.3f}, sharp p {sharp_p:.3f}, "
            f"{seconds:.0f} s",
            flush=True,
        )

    report(0, float("nan"))
    losses = []
    for step in range(1, args.steps + 1):
        images, targets = [], []
        for index in rng.integers(0, len(train), args.batch):
            if scene_train and rng.random() < args.scenes:
                image, target = synthetic_scene(scene_train, rng, args.crop)
            else:
                image, target, _ = train[index]
            height, width = image.shape[-2:]
            zoom = float(np.exp(rng.uniform(-args.zoom, args.zoom)))
            side = min(round(args.crop / zoom), height, width)
            top = int(rng.integers(0, height - side + 1))
            left = int(rng.integers(0, width - side + 1))
            image = image[:, top : top + side, left : left + side]
            target = target[:, top : top + side, left : left + side]
            if side != args.crop:
                size = (args.crop, args.crop)
                image = F.interpolate(image[None], size=size, mode="bilinear", antialias=True)[0]
                target = F.interpolate(target[None], size=size, mode="bilinear")[0]
            if rng.random() < 0.5:
                image, target = image.flip(-1), target.flip(-1)
            gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
            images.append((image * gain + offset).clamp(0, 1))
            targets.append(target)
        loss = F.binary_cross_entropy_with_logits(
            logits(network, torch.stack(images)), torch.stack(targets)
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 500 == 0 or step == args.steps:
            report(step, float(np.mean(losses[-500:])))
    with open(out / "log.csv", "w") as handle:
        handle.writelines(",".join(str(v) for v in row) + "\n" for row in log)
    metadata = architecture_metadata(args.architecture, 3, {"widths": list(WIDTHS)})
    metadata[DETECTION_SIDE_KEY] = str(DETECTION_SIDE)
    state = {k: v.contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(out / "detector.safetensors"), metadata=metadata)
    if args.export:
        save_file(state, args.export, metadata=metadata)
        print(f"wrote {args.export}")


if __name__ == "__main__":
    main()
