import os
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageOps

from defocus.errors import DefocusError
from defocus.io import read_image, write_image


def write_png16(path: Path, arr: np.ndarray, colour_type: int) -> None:
    """Minimal independent 16-bit PNG writer (Pillow cannot write grey+alpha 16-bit)."""
    h = arr.shape[0]
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", arr.shape[1], h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


RNG = np.random.default_rng(7)
# A 16-bit level that no 8-bit level maps onto (v / 65535 is not k / 255).
ODD16 = 25701


def u16(shape: tuple[int, ...]) -> np.ndarray:
    arr = RNG.integers(0, 65536, shape, dtype=np.uint16)
    arr.flat[0] = ODD16
    return arr


def as_u16(t: torch.Tensor) -> np.ndarray:
    return np.rint(t.double().numpy() * 65535).astype(np.int64)


def test_grey_16bit_png_full_precision(tmp_path: Path) -> None:
    arr = u16((6, 9))
    Image.fromarray(arr).save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.bit_depth == 16 and img.pixels.shape == (1, 6, 9) and img.alpha is None
    assert img.pixels.dtype == torch.float32
    assert as_u16(img.pixels[0])[0, 0] == ODD16
    np.testing.assert_array_equal(as_u16(img.pixels[0]), arr)


@pytest.mark.parametrize("channels", [3, 4])
def test_colour_16bit_png_full_precision(tmp_path: Path, channels: int) -> None:
    arr = u16((5, 7, channels))
    bgr = arr[..., [2, 1, 0, 3][:channels]]
    cv2.imwrite(str(tmp_path / "c.png"), bgr)
    img = read_image(tmp_path / "c.png")
    assert img.bit_depth == 16 and img.pixels.shape == (3, 5, 7)
    np.testing.assert_array_equal(as_u16(img.pixels).transpose(1, 2, 0), arr[..., :3])
    if channels == 4:
        assert img.alpha is not None
        np.testing.assert_array_equal(as_u16(img.alpha[0]), arr[..., 3])
    else:
        assert img.alpha is None


def test_grey_alpha_16bit_png(tmp_path: Path) -> None:
    arr = u16((4, 6, 2))
    write_png16(tmp_path / "la.png", arr, colour_type=4)
    img = read_image(tmp_path / "la.png")
    assert img.bit_depth == 16 and img.pixels.shape == (1, 4, 6)
    np.testing.assert_array_equal(as_u16(img.pixels[0]), arr[..., 0])
    np.testing.assert_array_equal(as_u16(img.alpha[0]), arr[..., 1])


def test_rgba_8bit_alpha_separated(tmp_path: Path) -> None:
    arr = RNG.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.bit_depth == 8 and img.pixels.shape == (3, 5, 6) and img.alpha.shape == (1, 5, 6)
    np.testing.assert_array_equal(
        np.rint(img.pixels.numpy() * 255).transpose(1, 2, 0), arr[..., :3]
    )
    np.testing.assert_array_equal(np.rint(img.alpha[0].numpy() * 255), arr[..., 3])


def palette_image() -> tuple[Image.Image, np.ndarray]:
    index = RNG.integers(0, 4, (5, 8), dtype=np.uint8)
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 17, 34, 51]
    img = Image.fromarray(index, mode="P")
    img.putpalette(palette)
    rgb = np.asarray(palette, dtype=np.uint8).reshape(4, 3)[index]
    return img, rgb


@pytest.mark.parametrize("transparent", [False, True])
def test_palette(tmp_path: Path, transparent: bool) -> None:
    pal, rgb = palette_image()
    index = np.asarray(pal)
    pal.save(tmp_path / "p.png", **({"transparency": 2} if transparent else {}))
    img = read_image(tmp_path / "p.png")
    assert img.pixels.shape == (3, 5, 8) and img.bit_depth == 8
    np.testing.assert_array_equal(np.rint(img.pixels.numpy() * 255).transpose(1, 2, 0), rgb)
    if transparent:
        np.testing.assert_array_equal(img.alpha[0].numpy(), (index != 2).astype(np.float32))
    else:
        assert img.alpha is None


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grey_8bit(tmp_path: Path, mode: str) -> None:
    arr = RNG.integers(0, 256, (7, 5), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(tmp_path / "g.png")
    expected = np.asarray(Image.open(tmp_path / "g.png").convert("L"), dtype=np.float32) / 255
    img = read_image(tmp_path / "g.png")
    assert img.pixels.shape == (1, 7, 5) and img.alpha is None and img.bit_depth == 8
    np.testing.assert_array_equal(img.pixels[0].numpy(), expected)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    cmyk = Image.fromarray(RNG.integers(0, 256, (16, 16, 4), dtype=np.uint8), mode="CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    expected = np.asarray(Image.open(tmp_path / "c.jpg").convert("RGB"), dtype=np.float32) / 255
    img = read_image(tmp_path / "c.jpg")
    assert img.format == "JPEG" and img.pixels.shape == (3, 16, 16)
    np.testing.assert_array_equal(img.pixels.numpy().transpose(1, 2, 0), expected)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    arr = RNG.integers(0, 256, (4, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(tmp_path / "o.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    img = read_image(tmp_path / "o.png")
    got = np.rint(img.pixels.numpy() * 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(got, expected)
    reread = Image.Exif()
    reread.load(img.exif)
    assert reread.get(0x0112, 1) == 1  # orientation applied, so reset


def test_exif_orientation_16bit(tmp_path: Path) -> None:
    arr = u16((3, 5, 3))
    exif = Image.Exif()
    exif[0x0112] = 6
    write_image(
        tmp_path / "o.png", arr.transpose(2, 0, 1) / 65535, bit_depth=16, exif=exif.tobytes()
    )
    img = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(as_u16(img.pixels).transpose(1, 2, 0), np.rot90(arr, -1))


@pytest.mark.parametrize(
    ("name", "channels", "bit_depth", "with_alpha"),
    [
        ("g.png", 1, 8, False),
        ("c.png", 3, 8, False),
        ("ga.png", 1, 8, True),
        ("ca.png", 3, 8, True),
        ("g16.png", 1, 16, False),
        ("c16.png", 3, 16, False),
        ("ca16.png", 3, 16, True),
        ("g16.tif", 1, 16, False),
        ("c16.tif", 3, 16, False),
        ("c.bmp", 3, 8, False),
        ("g.pgm", 1, 8, False),
        ("c.ppm", 3, 8, False),
        ("c.tiff", 3, 8, True),
    ],
)
def test_lossless_round_trip(
    tmp_path: Path, name: str, channels: int, bit_depth: int, with_alpha: bool
) -> None:
    peak = 65535 if bit_depth == 16 else 255
    levels = RNG.integers(0, peak + 1, (channels, 6, 9))
    alpha_levels = RNG.integers(0, peak + 1, (1, 6, 9)) if with_alpha else None
    write_image(
        tmp_path / name,
        torch.from_numpy(levels / peak),
        bit_depth=bit_depth,
        alpha=None if alpha_levels is None else torch.from_numpy(alpha_levels / peak),
    )
    img = read_image(tmp_path / name)
    assert img.bit_depth == bit_depth and img.pixels.shape == (channels, 6, 9)
    np.testing.assert_array_equal(np.rint(img.pixels.double().numpy() * peak), levels)
    if with_alpha:
        np.testing.assert_array_equal(np.rint(img.alpha.double().numpy() * peak), alpha_levels)
    else:
        assert img.alpha is None


def test_grey_alpha_16bit_round_trip_keeps_values(tmp_path: Path) -> None:
    levels = RNG.integers(0, 65536, (2, 4, 5))
    write_image(
        tmp_path / "la.png",
        torch.from_numpy(levels[:1] / 65535),
        bit_depth=16,
        alpha=torch.from_numpy(levels[1:] / 65535),
    )
    img = read_image(tmp_path / "la.png")
    assert img.bit_depth == 16
    for c in range(img.pixels.shape[0]):  # stored as RGBA with equal colour channels
        np.testing.assert_array_equal(np.rint(img.pixels[c].double().numpy() * 65535), levels[0])
    np.testing.assert_array_equal(np.rint(img.alpha[0].double().numpy() * 65535), levels[1])


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_icc_and_exif_survive_png_round_trip(tmp_path: Path, bit_depth: int) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "defocus-test-camera"
    write_image(
        tmp_path / "m.png",
        torch.rand(3, 4, 4),
        bit_depth=bit_depth,
        icc_profile=icc,
        exif=exif.tobytes(),
    )
    img = read_image(tmp_path / "m.png")
    assert img.bit_depth == bit_depth and img.icc_profile == icc
    reread = Image.Exif()
    reread.load(img.exif)
    assert reread[0x010F] == "defocus-test-camera"


def test_written_file_has_normal_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        write_image(tmp_path / "p.png", torch.rand(1, 3, 3))
    finally:
        os.umask(mask)
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o644


def test_encoding_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "huge.webp"
    with pytest.raises(DefocusError, match=r"huge\.webp: could not encode"):
        write_image(target, torch.zeros(1, 1, 16400))  # wider than WebP allows
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_keeps_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def broken_write(self: Path, data: bytes) -> int:
        with open(self, "wb") as handle:
            handle.write(data[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", broken_write)
    with pytest.raises(OSError):
        write_image(target, torch.rand(3, 8, 8))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b""), "not a recognised image"),
        (lambda p: p.write_bytes(RNG.bytes(500)), "not a recognised image"),
    ],
)
def test_bad_files_raise_one_line_error(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(DefocusError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


@pytest.mark.parametrize(("suffix", "keep"), [(".png", 0.6), (".jpg", 0.5), (".png", 0.05)])
def test_truncated_files(tmp_path: Path, suffix: str, keep: float) -> None:
    arr = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = tmp_path / f"full{suffix}"
    Image.fromarray(arr).save(full)
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DefocusError) as info:
        read_image(cut)
    assert str(info.value).startswith(f"{cut}: ") and "\n" not in str(info.value)


def test_truncated_16bit_png(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "c.png"), u16((32, 32, 3)))
    data = (tmp_path / "c.png").read_bytes()
    (tmp_path / "c.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DefocusError, match=r"c\.png: "):
        read_image(tmp_path / "c.png")


@pytest.mark.parametrize("name", ["out.xyz", "noext"])
def test_write_unsupported_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(DefocusError, match="unsupported output format"):
        write_image(tmp_path / name, torch.rand(1, 2, 2))


def test_write_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DefocusError, match="does not exist"):
        write_image(tmp_path / "nope" / "x.png", torch.rand(1, 2, 2))


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_colour_key_transparency_becomes_alpha(tmp_path: Path, mode: str) -> None:
    arr = RNG.integers(0, 250, (6, 7, 3), dtype=np.uint8)
    arr[2, 3] = (255, 255, 255)
    img = Image.fromarray(arr).convert(mode)
    key = 255 if mode == "L" else (255, 255, 255)
    img.save(tmp_path / "k.png", transparency=key)
    data = read_image(tmp_path / "k.png")
    assert data.pixels.shape[0] == (1 if mode == "L" else 3) and data.alpha is not None
    expected = np.ones((6, 7), np.float32)
    expected[2, 3] = 0
    np.testing.assert_array_equal(data.alpha[0].numpy(), expected)


def test_float_tiff_reads_without_warnings_into_writable_pixels(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((8, 6), 0.25, np.float32), mode="F").save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on a read-only buffer
        pixels = read_image(path).pixels
    pixels += 0.5  # the tensor owns its memory
    assert pixels.shape == (1, 8, 6) and torch.allclose(pixels, torch.tensor(0.75))
