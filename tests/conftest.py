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
