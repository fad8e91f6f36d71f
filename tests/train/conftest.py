"""Shared fixtures of the training tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread, above all on a loaded shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
