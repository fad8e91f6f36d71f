"""Reading and writing images at full precision, and matching files into pairs."""

from defocus.io.atomic import atomic_path, atomic_write_bytes
from defocus.io.files import IMAGE_SUFFIXES, list_images, match_paths, pair_by_stem
from defocus.io.images import (
    ImageData,
    ImageInfo,
    probe_image,
    quantise,
    read_image,
    write_image,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageData",
    "ImageInfo",
    "atomic_path",
    "atomic_write_bytes",
    "list_images",
    "match_paths",
    "pair_by_stem",
    "probe_image",
    "quantise",
    "read_image",
    "write_image",
]
