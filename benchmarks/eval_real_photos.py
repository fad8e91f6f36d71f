"""Deblurring real out-of-focus photos: does a model sharpen the defocus and leave focus alone?

Usage: python benchmarks/eval_real_photos.py [--root ../shared/data/real/CUHK-defocus]
       [--first 401] [--last 500] [--step 1] [--model default --model wiener-unet-defocus-v1]
       [--csv runs/real/real.csv] [--gallery docs/figures/real-gallery.png]
       [--folder PHOTOS] [--model adapt:default] [--labelled benchmarks/other_photos.toml]

Every photo of the CUHK set (``images/out_of_focusNNNN.jpg`` and its mask; white =
defocused) from ``--first`` to ``--last`` (every ``--step``-th) is restored by each
``--model`` (RGB in, as ``defocus deblur`` does) and scored by
:func:`defocus.bench.real_photos.real_photo_scores`. Printed per model: the share of
photos changed, the median over photos of the defocused-region Q gain, the median
in-focus PSNR against the input and the median in-focus Q gain, with the seconds per
megapixel. A model ``adapt:NAME`` is NAME with test-time adaptation on each photo
(:class:`defocus.infer.adapt.Adaptation` defaults, the matched reblurring module); given
with NAME itself, the script also prints, over the CUHK photos, the median per-photo
ratio of the defocused-region Q (adapted over not adapted), the share of photos above 1
and the paired t-test. ``--folder`` restores other photos (no masks): it reports the whole-photo
Q gain and whether each changed, and adds them to the gallery. ``--labelled`` scores
the photos of a labels file (:func:`defocus.data.masks.read_labelled_photos`) on their
labelled boxes instead of CUHK: real photos that are not in ``../shared``. The
blur-map estimator was fitted on CUHK 0001-0400: report 0401-0500.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from defocus.bench.real_photos import real_photo_scores
from defocus.bench.stats import paired_ttest
from defocus.blurmap import estimate_blur_map
from defocus.data.masks import LabelledPhoto, read_defocus_mask, read_labelled_photos
from defocus.infer import deblur
from defocus.infer.adapt import Adaptation
from defocus.io import list_images, read_image


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data/real/CUHK-defocus")
    parser.add_argument("--first", type=int, default=401)
    parser.add_argument("--last", type=int, default=500)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--folder", default="", help="further photos without masks")
    parser.add_argument("--labelled", default="", help="labels file scored instead of CUHK")
    parser.add_argument("--csv", default="")
    parser.add_argument("--gallery", default="")
    args = parser.parse_args()
    models = args.model or ["default"]
    rows, shown = [], []
    for model in models:
        seconds, pixels = 0.0, 0
        for path, labels in _photos(args):
            image = read_image(path).pixels[None]
            start = time.perf_counter()
            name, adapt = model.removeprefix("adapt:"), model.startswith("adapt:")
            settings = Adaptation() if adapt else None
            restored = deblur(image, model=name, adapt=settings).clamp(0, 1)
            seconds += time.perf_counter() - start
            pixels += image.shape[-2] * image.shape[-1]
            scores = real_photo_scores(image, restored, *_masks(labels, image))
            rows.append(
                {"model": model, "photo": path.name, "masked": labels is not None, **scores}
            )
            if model == models[-1] and (len(shown) < 3 or (labels is None and len(shown) < 6)):
                shown.append((path.name, image, restored))
        mine = [r for r in rows if r["model"] == model]
        masked = [r for r in mine if r["masked"]]
        print(
            f"{model}: {len(mine)} photos, changed {np.mean([r['changed'] for r in mine]):.0%}; "
            f"masked ({len(masked)}): median Q gain defocused "
            f"{_median([r['q_gain_defocused'] for r in masked]):.3f}, in focus "
            f"{_median([r['q_gain_in_focus'] for r in masked]):.3f}, median in-focus PSNR "
            f"{_median([r['psnr_in_focus'] for r in masked]):.1f} dB (worst "
            f"{min((r['psnr_in_focus'] for r in masked), default=math.nan):.1f}); "
            f"{seconds / max(pixels, 1) * 1e6:.2f} s/MP"
        )
        for r in mine:
            if not r["masked"] or args.labelled:
                print(
                    f"  {r['photo']}: Q gain defocused {r['q_gain_defocused']:.3f}, in focus "
                    f"{r['q_gain_in_focus']:.3f}, in-focus PSNR {r['psnr_in_focus']:.1f} dB, "
                    f"changed {r['changed']}"
                )
    for model in models:
        if model.startswith("adapt:") and model.removeprefix("adapt:") in models:
            _compare_adapted(rows, model.removeprefix("adapt:"), model)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.gallery:
        _gallery(shown, Path(args.gallery))


def _compare_adapted(rows: list[dict], plain: str, adapted: str) -> None:
    """Print the defocused-region Q of ``adapted`` over ``plain``, photo by photo."""

    def gains(model: str) -> dict[str, float]:
        return {
            r["photo"]: r["q_gain_defocused"] for r in rows if r["model"] == model and r["masked"]
        }

    ours, theirs = gains(adapted), gains(plain)
    names = [n for n in ours if math.isfinite(ours[n]) and math.isfinite(theirs.get(n, math.nan))]
    ratios = [ours[n] / theirs[n] for n in names]
    test = paired_ttest([ours[n] for n in names], [theirs[n] for n in names])
    print(
        f"{adapted} vs {plain} on {len(names)} masked photos: defocused-region Q ratio median "
        f"{_median(ratios):.4f}, {np.mean([r > 1 for r in ratios]):.0%} of photos above 1, "
        f"mean Q-gain difference {test.mean_difference:+.4f} "
        f"[{test.ci_low:+.4f}, {test.ci_high:+.4f}], p = {test.p:.2g}"
    )


Labels = Path | LabelledPhoto | None
"""Where a photo's labels come from: a CUHK mask file, labelled boxes, or nothing."""


def _photos(args: argparse.Namespace) -> list[tuple[Path, Labels]]:
    """Each photo with its labels (``None``: a ``--folder`` photo)."""
    extra: list[tuple[Path, Labels]] = [
        (path, None) for path in (list_images(args.folder) if args.folder else [])
    ]
    if args.labelled:
        return [(photo.path, photo) for photo in read_labelled_photos(args.labelled)] + extra
    root = Path(args.root)
    return [
        (root / "images" / f"out_of_focus{i:04d}.jpg", root / "masks" / f"out_of_focus{i:04d}.png")
        for i in range(args.first, args.last + 1, args.step)
    ] + extra


def _masks(labels: Labels, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The defocus mask of ``image`` and where it is known; no labels: all "defocused"."""
    if isinstance(labels, LabelledPhoto):
        return labels.masks(*image.shape[-2:])
    mask = torch.ones_like(image[:, :1]) if labels is None else read_defocus_mask(labels)[None]
    return mask, torch.ones_like(mask)


def _gallery(shown: list[tuple[str, torch.Tensor, torch.Tensor]], path: Path) -> None:
    fig, axes = plt.subplots(len(shown), 3, figsize=(12, 3.2 * len(shown)), squeeze=False)
    for row, (name, image, restored) in zip(axes, shown, strict=True):
        radius = estimate_blur_map(image).radius[0, 0]
        row[0].imshow(image[0].permute(1, 2, 0).numpy())
        row[1].imshow(restored[0].permute(1, 2, 0).numpy())
        shown_map = row[2].imshow(radius.numpy(), cmap="magma", vmin=0)
        fig.colorbar(shown_map, ax=row[2], fraction=0.04, label="radius (px)")
        for ax, title in zip(row, (f"{name} (input)", "restored", "blur map"), strict=True):
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
