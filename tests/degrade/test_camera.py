"""The camera pipeline: sRGB curve, noise, downscaling, JPEG."""

import numpy as np
import pytest
import torch

from defocus.degrade.camera import camera_pipeline, jpeg, linear_to_srgb, srgb_to_linear


def test_srgb_curve_round_trips_and_matches_the_standard():
    x = torch.linspace(0, 1, 1001, dtype=torch.float64)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x)
    # IEC 61966-2-1 reference points
    assert float(srgb_to_linear(torch.tensor(0.5, dtype=torch.float64))) == pytest.approx(
        0.21404, abs=1e-5
    )
    assert float(linear_to_srgb(torch.tensor(0.0031308, dtype=torch.float64))) == pytest.approx(
        0.04045, abs=1e-5
    )


def test_jpeg_loses_more_at_lower_quality():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 64, generator=generator).cumsum(-1) / 64
    errors = [float((jpeg(x, q) - x).abs().mean()) for q in (95, 50, 10)]
    assert errors[0] < errors[1] < errors[2]
    grey = jpeg(x[:, :1], 90)
    assert grey.shape == (1, 1, 64, 64)
    with pytest.raises(ValueError):
        jpeg(x, 0)


def test_pipeline_is_seeded_and_downscales():
    x = torch.full((2, 3, 32, 32), 0.2, dtype=torch.float64)
    a = camera_pipeline(x, torch.Generator().manual_seed(1), 0.01, 1000.0, 80, downscale=2)
    b = camera_pipeline(x, torch.Generator().manual_seed(1), 0.01, 1000.0, 80, downscale=2)
    torch.testing.assert_close(a, b)
    assert a.shape == (2, 3, 16, 16)
    clean = camera_pipeline(x)
    expected = np.round(float(linear_to_srgb(torch.tensor(0.2))) * 255) / 255
    assert torch.allclose(clean, torch.full_like(clean, expected))
