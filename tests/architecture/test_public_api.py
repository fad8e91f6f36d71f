"""The public API is a deliberate choice: ``__all__`` of every package against a snapshot.

A change of any package's ``__all__`` fails here until ``public_api.json`` is updated
with it (``python tests/architecture/test_public_api.py`` prints the current one), so
that additions and removals show up in review.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import defocus

SNAPSHOT = Path(__file__).with_name("public_api.json")


def packages() -> list[str]:
    """``defocus`` and its sub-packages (not the command line, assets or weights)."""
    names = ["defocus"]
    for info in pkgutil.iter_modules(defocus.__path__):
        if info.ispkg and info.name not in ("cli", "assets", "weights"):
            names.append(f"defocus.{info.name}")
    return names


def current_api() -> dict[str, list[str]]:
    """Each package's ``__all__``, sorted; every name in it must exist."""
    api = {}
    for name in packages():
        module = importlib.import_module(name)
        exported = sorted(getattr(module, "__all__", []))
        missing = [item for item in exported if not hasattr(module, item)]
        assert not missing, f"{name}.__all__ names missing objects: {missing}"
        api[name] = exported
    return api


def test_public_api_matches_the_snapshot():
    assert current_api() == json.loads(SNAPSHOT.read_text())


def test_every_package_declares_its_api():
    assert all(current_api().values())


if __name__ == "__main__":
    print(json.dumps(current_api(), indent=1))
