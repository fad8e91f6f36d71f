"""Calibrate a blur-map network's defocus probability on masked photos and export it.

Usage: python scripts/calibrate_blur_map.py WEIGHTS [--root ../shared/data/real/CUHK-defocus]
       [--first 1] [--last 400] [--detector]
       [--export src/defocus/weights/blurmap_unet_v1.safetensors]

Runs the estimator (``defocus.blurmap.learned_blur_map``, or with ``--detector``
``defocus.blurmap.learned.detect_defocus``) on the photos ``first`` …
``last`` of a mask folder (CUHK layout), and fits the logistic recalibration
``p = sigmoid(a · logit + b)`` of its defocus logit that minimises the binary
cross-entropy against the masks (every 4th pixel of every photo). Prints the per-image
Fβ and MAE before and after, and writes the weights with ``(a, b)`` in their metadata
(:data:`defocus.blurmap.network.CALIBRATION_KEY`). Fit on 0001-0400; report on
0401-0500 with ``benchmarks/bench_blurmap_cuhk.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from defocus.blurmap import defocus_scores, learned_blur_map
from defocus.blurmap.learned import detect_defocus
from defocus.blurmap.network import CALIBRATION_KEY
from defocus.data.masks import defocus_mask_pairs, read_defocus_mask
from defocus.io import read_image


def main() -> None:
    """Fit, report, export."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("weights")
    parser.add_argument("--root", default="../shared/data/real/CUHK-defocus")
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--last", type=int, default=400)
    parser.add_argument("--detector", action="store_true", help="weights of a detector")
    parser.add_argument("--export", default="")
    args = parser.parse_args()
    pairs = defocus_mask_pairs(args.root)[args.first - 1 : args.last]
    logits, masks, images = [], [], []
    for image_path, mask_path in pairs:
        photo = read_image(image_path).pixels[None]
        if args.detector:
            probability = detect_defocus(photo, args.weights)
        else:
            probability = learned_blur_map(photo, args.weights).probability
        p = probability.clamp(1e-6, 1 - 1e-6)
        mask = read_defocus_mask(mask_path)[None]
        images.append((p, mask))
        logits.append(torch.log(p / (1 - p))[..., ::4, ::4].flatten())
        masks.append(mask[..., ::4, ::4].flatten())
    logit, truth = torch.cat(logits).double(), torch.cat(masks).double()
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([params], max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            params[0] * logit + params[1], truth
        )
        loss.backward()
        return loss

    optimizer.step(closure)
    scale, shift = (float(v) for v in params.detach())
    for label, (a, b) in (("before", (1.0, 0.0)), ("after", (scale, shift))):
        scores = [
            defocus_scores(torch.sigmoid(a * torch.log(p / (1 - p)) + b), mask)
            for p, mask in images
        ]
        f_beta = sum(float(s["f_beta"]) for s in scores) / len(scores)
        mae = sum(float(s["mae"]) for s in scores) / len(scores)
        print(f"{label}: a {a:.3f}, b {b:.3f}: Fβ {f_beta:.3f}, MAE {mae:.3f}")
    if args.export:
        with safe_open(args.weights, framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        metadata[CALIBRATION_KEY] = f"{scale:.6g},{shift:.6g}"
        metadata["calibrated_on"] = f"{Path(args.root).name} {args.first:04d}-{args.last:04d}"
        save_file(load_file(args.weights), args.export, metadata=metadata)
        print(f"wrote {args.export}")


if __name__ == "__main__":
    main()
