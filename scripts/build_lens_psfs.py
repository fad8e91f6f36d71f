"""Build ``src/defocus/assets/lens_psfs.npz`` from the measured HDC 2021 lens PSFs.

Usage: python scripts/build_lens_psfs.py [../shared/data/psfs/hdc2021]

Each of the 12 PSFs (one per focus setting of a real camera) is cleaned and stored at
its native resolution as float16: negative taps (fitting noise) are set to 0, the flat
pedestal is removed (the median of the outermost ring of taps, which lies outside the
blur disk), and the kernel is normalised to sum 1. Its effective disk radius
``sqrt(2 · E[|x - centroid|²])`` (exact for a uniform disk) is stored beside it, so
that :func:`defocus.degrade.lens.lens_psf` can rescale any shape to any radius. The
source repository's MIT licence is copied to ``assets/lens_psfs.LICENSE``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from defocus.degrade.lens import effective_radius

ASSETS = Path(__file__).resolve().parents[1] / "src" / "defocus" / "assets"


def clean(psf: np.ndarray) -> np.ndarray:
    """Non-negative, pedestal-free, normalised copy of a measured PSF."""
    psf = np.clip(psf.astype(np.float64), 0, None)
    ring = np.concatenate([psf[0], psf[-1], psf[1:-1, 0], psf[1:-1, -1]])
    psf = np.clip(psf - np.median(ring), 0, None)
    return psf / psf.sum()


def main() -> None:
    """Build the asset from the folder given on the command line."""
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/psfs/hdc2021")
    shapes, radii = {}, []
    for step in range(12):
        psf = clean(np.load(source / f"step_{step}.npz")["psf"])
        shapes[f"step_{step}"] = psf.astype(np.float16)
        radii.append(effective_radius(torch.from_numpy(psf)))
        print(f"step {step}: {psf.shape[0]}x{psf.shape[1]}, effective radius {radii[-1]:.1f} px")
    np.savez_compressed(ASSETS / "lens_psfs.npz", radii=np.asarray(radii), **shapes)
    shutil.copyfile(source / "LICENSE", ASSETS / "lens_psfs.LICENSE")


if __name__ == "__main__":
    main()
