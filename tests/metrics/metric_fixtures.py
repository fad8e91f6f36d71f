"""Helpers shared by the metric tests: fixture paths, image loading, random test images."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OMEGA = FIXTURES / "omega"
SHARED_TEST_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "test"


def load_array(path: Path) -> np.ndarray:
    """An 8-bit image file as float64 in [0, 1]: (H, W) grey or (H, W, 3) colour."""
    return np.asarray(Image.open(path), dtype=np.float64) / 255.0


def batch(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, 3) numpy array -> (1, C, H, W) float64 tensor."""
    t = torch.from_numpy(np.ascontiguousarray(array))
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None].contiguous()


def luma(array: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) array, written out independently of defocus.color."""
    return 0.299 * array[..., 0] + 0.587 * array[..., 1] + 0.114 * array[..., 2]


def random_image(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random grey image with structure: smooth field + a random straight edge + noise."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    angle = rng.uniform(0, np.pi)
    centre = rng.uniform(0.3, 0.7, size=2) * shape
    edge = np.cos(angle) * (cols - centre[1]) + np.sin(angle) * (rows - centre[0]) > 0
    field = ndimage.gaussian_filter(rng.random(shape), rng.uniform(0.7, 2.0))
    return np.clip(0.3 * edge + field + 0.01 * rng.standard_normal(shape), 0.0, 1.0)
