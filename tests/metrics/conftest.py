from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OMEGA = FIXTURES / "omega"
SHARED_TEST_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "test"


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    """One intra-op thread: far faster than two on the shared, loaded CI machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


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


@pytest.fixture(scope="session")
def photo_crops() -> list[tuple[str, np.ndarray]]:
    """Colour crops of odd sizes from real photos of ../shared/data (skipped if absent)."""
    kodak = SHARED_TEST_PHOTOS / "Kodak24" / "kodim05.png"
    bsd = SHARED_TEST_PHOTOS / "CBSD68" / "101085.png"
    if not (kodak.exists() and bsd.exists()):
        pytest.skip("real test photos of ../shared/data are absent")
    first, second = load_array(kodak), load_array(bsd)
    return [
        ("kodim05 131x97", first[200:331, 150:247]),
        ("kodim05 77x53", first[40:117, 300:353]),
        ("101085 131x97", second[100:231, 250:347]),
        ("101085 53x77", second[17:70, 33:110]),
    ]
