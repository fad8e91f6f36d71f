"""Helpers shared by the dataset tests: writing small fixture images."""

import numpy as np

from defocus.io import write_image


def save_image(path, pixels, bit_depth=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, pixels, bit_depth=bit_depth)
    return path


def random_pixels(seed, channels=3, size=(24, 30)):
    return np.random.default_rng(seed).random((channels, *size))
