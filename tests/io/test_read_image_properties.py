"""Property-based: any image file either reads as finite pixels in [0, 1] or raises ValueError."""

import io

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from defocus.io import probe_image, read_image

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def image_files(draw):
    """A (file suffix, bytes, whether the pixels are all finite and in [0, 1]) triple."""
    height = draw(st.integers(1, 24))
    width = draw(st.integers(1, 24))
    kind = draw(st.sampled_from(["uint8", "uint16", "float32"]))
    channels = draw(st.sampled_from([1, 2, 3, 4] if kind != "float32" else [1]))
    shape = (height, width) if channels == 1 else (height, width, channels)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "float32":
        array = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
        if draw(st.booleans()):
            array[rng.integers(height), rng.integers(width)] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf])
            )
        buffer = io.BytesIO()
        Image.fromarray(array, mode="F").save(buffer, format="TIFF")
        clean = bool(np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1)
        return ".tif", buffer.getvalue(), clean
    peak = 255 if kind == "uint8" else 65535
    array = rng.integers(0, peak + 1, shape).astype(kind)
    suffix = draw(st.sampled_from([".png", ".tif"] + ([".jpg", ".bmp"] if kind == "uint8" else [])))
    if channels == 2 and kind == "uint8":  # grey + alpha: OpenCV cannot write it, Pillow can
        buffer = io.BytesIO()
        Image.fromarray(array, mode="LA").save(buffer, format="PNG")
        suffix, data = ".png", buffer.getvalue()
    else:
        if channels == 2 or (suffix in (".jpg", ".bmp") and channels == 4):
            array = np.repeat(array[..., :1], 3, axis=2)
        ok, encoded = cv2.imencode(suffix, array)
        assert ok
        data = encoded.tobytes()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        return suffix, data[:cut], cut == len(data)
    return suffix, data, True


@SETTINGS
@given(image_files())
def test_read_image_gives_finite_unit_pixels_or_value_error(tmp_path, sample):
    suffix, data, clean = sample
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    try:
        probe_image(path)  # the header alone: same rule
    except ValueError as exc:
        assert str(path) in str(exc)
    try:
        image = read_image(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        if clean and data:
            pytest.fail(f"a valid file was refused: {exc}")
        return
    pixels = image.pixels
    assert pixels.ndim == 3 and pixels.shape[0] in (1, 3)
    assert bool(pixels.isfinite().all()) and float(pixels.min()) >= 0 and float(pixels.max()) <= 1
    if image.alpha is not None:
        assert image.alpha.shape == (1, *pixels.shape[1:])
    info = probe_image(path)
    assert (info.height, info.width) == image.size
    assert info.channels == pixels.shape[0]


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from([".png", ".jpg", ".tif", ".webp", ".bmp"]))
def test_random_bytes_never_raise_anything_but_value_error(tmp_path, data, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(data)
    for reader in (probe_image, read_image):
        try:
            reader(path)
        except ValueError as exc:
            assert str(path) in str(exc)
