import pytest
from dataset_helpers import random_pixels, save_image


@pytest.fixture
def make_pairs():
    """Write blurry/sharp folders; the blurry image is ``1 - sharp`` so crops can be matched."""

    def build(blurry_dir, sharp_dir, stems=("a", "b", "c"), size=(24, 30), bit_depth=8):
        for i, stem in enumerate(stems):
            sharp = random_pixels(i, size=size)
            save_image(sharp_dir / f"{stem}.png", sharp, bit_depth)
            save_image(blurry_dir / f"{stem}.png", 1.0 - sharp, bit_depth)

    return build
