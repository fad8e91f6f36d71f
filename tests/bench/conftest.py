"""Tiny generated test-image folders shaped like ``../shared/data/test``."""

from pathlib import Path

import numpy as np
import pytest
import torch

from defocus.io import write_image


@pytest.fixture
def test_root(tmp_path: Path) -> Path:
    """``ROOT/Kodak24`` and ``ROOT/CBSD68`` with 3 and 2 random 32x40 RGB PNGs."""
    rng = np.random.default_rng(0)
    for dataset, count in (("Kodak24", 3), ("CBSD68", 2)):
        folder = tmp_path / "test" / dataset
        folder.mkdir(parents=True)
        for index in range(count):
            # Smooth random content plus edges, so deblurring has something to do.
            small = rng.random((3, 8, 10))
            image = torch.from_numpy(np.kron(small, np.ones((4, 4)))).float()
            write_image(folder / f"img{index}.png", image)
    return tmp_path / "test"
