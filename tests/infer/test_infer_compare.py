import numpy as np
import torch
from PIL import ImageFont

from defocus.infer.compare import (
    CAPTION_HEIGHT,
    GAP,
    PANEL,
    comparison_figure,
    fit_caption,
    q_value,
)
from defocus.metrics.sharpness import sharpness_q


def test_side_by_side_layout_and_pixels():
    g = torch.Generator().manual_seed(0)
    before = torch.rand(3, 40, 60, generator=g)
    after = torch.rand(1, 40, 60, generator=g)
    figure = comparison_figure(before, after)
    assert figure.size == (2 * 60 + GAP, 40 + CAPTION_HEIGHT)
    pixels = np.asarray(figure)
    expected_before = (before.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(pixels[CAPTION_HEIGHT:, :60], expected_before)
    expected_after = (after[0].numpy() * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(pixels[CAPTION_HEIGHT:, 60 + GAP :, 1], expected_after)


def test_large_images_show_a_centre_crop():
    before = torch.zeros(1, PANEL + 100, PANEL + 41)
    before[:, 50 + PANEL // 2, 20 + PANEL // 2] = 1.0  # the centre pixel of the crop
    figure = np.asarray(comparison_figure(before, before))
    assert figure.shape == (PANEL + CAPTION_HEIGHT, 2 * PANEL + GAP, 3)
    assert figure[CAPTION_HEIGHT + PANEL // 2, PANEL // 2, 0] == 255


def test_q_value_matches_metric_and_handles_tiny_images():
    image = torch.rand(3, 32, 48, generator=torch.Generator().manual_seed(1))
    assert q_value(image) == float(sharpness_q(image[None].double())[0])
    assert q_value(torch.rand(1, 4, 4)) is None
    assert comparison_figure(torch.rand(1, 4, 4), torch.rand(1, 4, 4)).size[1] == 4 + CAPTION_HEIGHT


def test_long_captions_are_shortened_to_the_panel_width():
    font = ImageFont.load_default(size=18)
    text = fit_caption(
        "restored (a-very-long-weights-file-name.safetensors)\nPSNR 30 dB", font, 120
    )
    first, second = text.split("\n")
    assert first.endswith("…") and font.getlength(first) <= 120
    assert second == "PSNR 30 dB"
