"""Small files shipped with the package: a real photo for built-in defaults and demos."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_IMAGE = "kodim23_crop256.png"


def sample_image_path() -> Path:
    """Path of the bundled sample photo (256x256 RGB, 8-bit PNG).

    A centre crop of ``kodim23`` of the Kodak Lossless True Color Image Suite (two
    parrots: sharp feathers and beak against a smoothly defocused background); see
    ``assets/README.md`` for provenance. It is the default image of ``defocus sweep``.
    """
    return Path(str(resources.files(__package__).joinpath(SAMPLE_IMAGE)))
