"""Settings shared by the whole test suite."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    """One intra-op thread per test.

    The tests use small tensors, where thread start-up dominates; on a loaded 2-core
    machine two threads made individual tests 5-10x slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _dead_leaves(height: int, width: int, seed: int = 0, leaves: int = 600) -> torch.Tensor:
    """A dead-leaves chart (occluding discs of random colour, radii 2-42 px, mostly small):
    edges at every scale and orientation, the classic stand-in for natural texture when
    measuring blur. Shape ``(1, 3, height, width)``, values in ``[0, 1]``.
    """
    generator = torch.Generator().manual_seed(seed)
    image = torch.full((3, height, width), 0.5)
    yy, xx = torch.meshgrid(
        torch.arange(height, dtype=torch.float32),
        torch.arange(width, dtype=torch.float32),
        indexing="ij",
    )
    for _ in range(leaves):
        radius, cy, cx, *colour = torch.rand(6, generator=generator).tolist()
        radius = 40 * radius**3 + 2
        inside = (yy - cy * height) ** 2 + (xx - cx * width) ** 2 < radius**2
        image[:, inside] = torch.tensor(colour)[:, None]
    return image[None]


@pytest.fixture
def dead_leaves():
    """The dead-leaves chart maker (see :func:`_dead_leaves`)."""
    return _dead_leaves
