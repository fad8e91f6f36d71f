"""Handing freed memory back to the operating system between the phases of a large job.

glibc's allocator raises its ``mmap`` threshold after large blocks are freed (up to
32 MB), so the many mid-sized temporaries of a large image's global stage (transform
slices, blur-map tiles) are served from the heap; once freed they stay resident and
add to the next phase's peak. :func:`release_free_memory` returns those free pages
(``malloc_trim``). Measured at 24 MP with the default model (BENCHMARKS.md, "Default
model v2"). Elsewhere (other C libraries, other systems) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the operating system.

    Returns:
        Whether the C library offers this (glibc); ``False`` where nothing was done.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
