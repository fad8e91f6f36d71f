"""The realistic defocus family: reproducible triples with consistent blur maps."""

import numpy as np
import torch

from defocus.assets import sample_image_path
from defocus.data.realistic import RealisticDegradation, render_realistic
from defocus.io import read_image


def sample(seed: int, config: RealisticDegradation | None = None, margin: int = 32):
    photo = read_image(sample_image_path()).pixels
    background, texture = photo[:, :160, :160], photo[:, 96:, 96:]
    rng = np.random.default_rng(seed)
    return render_realistic(background, texture, rng, config or RealisticDegradation(), margin)


def test_triples_have_the_inner_size_and_a_bounded_blur_map():
    for seed in range(8):
        blurry, sharp, radius = sample(seed)
        assert blurry.shape == sharp.shape == (3, 96, 96) and radius.shape == (1, 96, 96)
        assert float(radius.min()) >= 0 and float(radius.max()) <= 24
        assert blurry.isfinite().all() and 0 <= float(blurry.min()) <= float(blurry.max()) <= 1


def test_the_same_seed_gives_the_same_sample():
    for a, b in zip(sample(3), sample(3), strict=True):
        torch.testing.assert_close(a, b)


def test_in_focus_samples_are_the_reference_up_to_the_camera():
    config = RealisticDegradation(
        in_focus=1.0, read_noise=(0.0, 0.0), photons=(1e9, 1e9), jpeg_probability=0.0
    )
    for seed in range(4):
        blurry, sharp, radius = sample(seed, config)
        assert bool((radius == 0).all())
        assert float((blurry - sharp).abs().max()) <= 1.5 / 255
