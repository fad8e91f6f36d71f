"""Defocus detection on photos that are not CUHK's: a sharp subject over a blurred rest.

Usage: python benchmarks/bench_detector_scenes.py PHOTO... [--fraction 0.005 ...]

Checks the CUHK figures (``bench_blurmap_cuhk.py``) on other photos, at their own
size. Each photo is made into scenes with known ground truth
(``defocus.degrade.scene.layered_defocus``): an ellipse in the middle (half the
photo's width and height) stays in focus over the rest of the photo blurred by a disk
of radius ``fraction x long side`` (0.005 is 3.2 px at CUHK's 640 px). Scored like
CUHK: Fβ (β² = 0.3) of the probability thresholded at 0.5 and MAE against the true
mask (radius > 1.5 px). The all-in-focus photo is scored too (its mean probability:
lower is better). Three probabilities side by side: the ``learned`` estimator's (the
shipped detector), the previous detector ``defocus-detector-v1``'s, and the blur-map
network's own (``blurmap-unet-v1`` at CUHK's scale, the first default).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from defocus.blurmap import defocus_scores, detect_defocus, learned_blur_map
from defocus.degrade import disk_kernel
from defocus.degrade.scene import Layer, layered_defocus
from defocus.io import read_image

ESTIMATES = {
    "detector (learned)": lambda x: detect_defocus(x),
    "defocus-detector-v1": lambda x: detect_defocus(x, "defocus-detector-v1"),
    "blurmap-unet-v1": lambda x: learned_blur_map(x).probability,
}
"""The probabilities compared, by label."""


def ellipse(height: int, width: int) -> torch.Tensor:
    """Matte of the centred ellipse with half the photo's width and height.

    Shape:
        ``(1, 1, height, width)``, float64.
    """
    y = (torch.arange(height, dtype=torch.float64) + 0.5) / height - 0.5
    x = (torch.arange(width, dtype=torch.float64) + 0.5) / width - 0.5
    return ((y[:, None] / 0.25) ** 2 + (x[None] / 0.25) ** 2 <= 1).double()[None, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--fraction", type=float, action="append")
    args = parser.parse_args()
    fractions = args.fraction or [0.005, 0.01, 0.02]
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for path in args.photos:
        photo = read_image(path).pixels[None].double()
        height, width = photo.shape[-2:]
        matte = ellipse(height, width)
        for label, estimate in ESTIMATES.items():
            p = estimate(photo.float())
            rows.setdefault((label, "sharp"), []).append((float("nan"), float(p.mean())))
        for fraction in fractions:
            radius = fraction * max(height, width)
            scene, truth = layered_defocus(photo, radius, [Layer(photo, matte, 0.0)], disk_kernel)
            mask = (truth > 1.5).float()
            for label, estimate in ESTIMATES.items():
                scores = defocus_scores(estimate(scene.float().clamp(0, 1)), mask)
                key = (label, f"{fraction:g}")
                rows.setdefault(key, []).append((float(scores["f_beta"]), float(scores["mae"])))
        print(f"{Path(path).name}: {width}x{height}", flush=True)
    print(
        f"{len(args.photos)} photos; Fβ / MAE per blur (fraction of the long side); "
        "sharp: mean probability"
    )
    for (label, scene), values in rows.items():
        f_beta, mae = np.mean(values, axis=0)
        shown = f"mean p {mae:.3f}" if scene == "sharp" else f"Fβ {f_beta:.3f} MAE {mae:.3f}"
        print(f"  {label:20s} {scene:>6s}: {shown}")


if __name__ == "__main__":
    main()
