"""defocus: remove out-of-focus blur from photographs and judge restorations honestly.

The most used entry points are importable from the top level (loaded on first use, so
``import defocus`` stays cheap); everything else lives in the subpackages:
:mod:`defocus.operators` (blur operator, boundary models), :mod:`defocus.degrade`,
:mod:`defocus.classical`, :mod:`defocus.models`, :mod:`defocus.infer`,
:mod:`defocus.metrics`, :mod:`defocus.losses`, :mod:`defocus.data`,
:mod:`defocus.train`, :mod:`defocus.bench`, :mod:`defocus.io`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "blur": "defocus.degrade",
    "create_metric": "defocus.metrics",
    "create_model": "defocus.models",
    "deblur": "defocus.infer",
    "load_model": "defocus.infer",
    "read_image": "defocus.io",
    "wiener": "defocus.classical",
    "write_image": "defocus.io",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> object:
    """Import a top-level entry point from its subpackage on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'defocus' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
