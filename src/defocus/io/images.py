"""Image files ↔ float tensors in ``[0, 1]`` without losing precision or metadata."""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from defocus.errors import DefocusError
from defocus.io.atomic import atomic_write_bytes
from defocus.limits import check_memory

# Formats whose 16-bit colour variants Pillow silently reduces to 8 bits.
_CV2_HIGH_DEPTH = {".png", ".tif", ".tiff"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREY_ALPHA = 4  # colour type byte of the IHDR chunk (offset 25 in the file)
# TIFF tags that describe how a file's pixels are laid out (size, samples, colour
# space, compression, strips/tiles, ...). Pillow's ``getexif()`` of a TIFF returns them
# with the descriptive tags; they are never copied onto an output, whose own encoder
# writes the true ones (a CMYK input's tags on an RGB output made it unreadable). The
# ICC profile (34675) travels separately, and only when it still describes the pixels;
# Photoshop's image resources (34377) and layers (37724) describe pixels that are gone.
_TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284}
    | {290, 291, 292, 293, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 333}
    | {334, 336, 337, 338, 339, 340, 341, 347, 512, 513, 514, 515, 517, 518, 519, 520}
    | {521, 529, 530, 531, 532, 32995, 32996, 32997, 32998, 34377, 34675, 37724, 50838}
    | {50839}
)
# Pillow modes whose pixels are converted to RGB on reading: an embedded ICC profile
# describes the original colour space, not the converted pixels, so it is dropped.
_CONVERTED_MODES = frozenset({"CMYK", "YCbCr", "LAB", "HSV"})
_PIL_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".ppm": "PPM",
    ".pgm": "PPM",
    ".pnm": "PPM",
}


@dataclass
class ImageData:
    """Pixels of an image file plus what is needed to write it back faithfully.

    Attributes:
        pixels: Colour channels as float32 in ``[0, 1]``, shape ``(C, H, W)`` with
            ``C`` = 1 (grey) or 3 (RGB). Orientation from EXIF is already applied.
        alpha: Alpha channel ``(1, H, W)`` in ``[0, 1]``, or ``None``.
        bit_depth: 8 or 16 (bits per channel of the file).
        format: Pillow's format name (``"PNG"``, ``"JPEG"``, ...).
        icc_profile: Embedded ICC profile bytes, if any.
        exif: EXIF bytes with the orientation reset to 1, if any.
        path: Where the image was read from.
    """

    pixels: torch.Tensor
    alpha: torch.Tensor | None = None
    bit_depth: int = 8
    format: str = "PNG"
    icc_profile: bytes | None = None
    exif: bytes | None = None
    path: Path | None = field(default=None)

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return int(self.pixels.shape[-2]), int(self.pixels.shape[-1])


def _fail(path: Path, problem: str) -> DefocusError:
    return DefocusError(f"{path}: {problem}")


def _pil_to_array(img: Image.Image, path: Path) -> tuple[np.ndarray, int]:
    """Convert a loaded Pillow image to ``(H, W, C)`` float32 in [0, 1] and its bit depth."""
    mode = img.mode
    if mode in ("P", "PA"):
        img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
    elif mode in ("L", "RGB") and "transparency" in img.info:
        img = img.convert("LA" if mode == "L" else "RGBA")  # colour-key transparency
    elif mode in ("1", "L", "LA", "RGB", "RGBA"):
        pass
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "La":
        img = img.convert("LA")
    elif mode == "RGBa":
        img = img.convert("RGBA")
    elif mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        if arr.min() < 0 or arr.max() > 65535:
            raise _fail(path, "32-bit integer pixel values outside 0..65535 are not supported")
        return (arr / 65535.0).astype(np.float32)[..., None], 16
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise _fail(path, "image contains NaN or infinite pixel values")
        low, high = float(arr.min()), float(arr.max())
        if low < 0.0 or high > 1.0:
            raise _fail(
                path,
                f"floating-point pixel values outside [0, 1] (min {low:g}, max {high:g}); "
                "scale or clip the image to [0, 1] first",
            )
        return arr[..., None], 16
    else:
        raise _fail(path, f"unsupported pixel mode {mode!r}")
    arr = np.asarray(img.convert("L") if img.mode == "1" else img)
    if arr.ndim == 2:
        arr = arr[..., None]
    out = arr.astype(np.float32)
    out /= np.float32(255.0)  # in place: same values as ``arr / 255`` in float32
    return out, 8


def _read_high_depth(path: Path, data: bytes) -> np.ndarray | None:
    """Return ``(H, W, C)`` float32 for 16-bit colour PNG/TIFF files, else ``None``.

    ``C`` is 3 or 4 (RGB, RGBA), or 2 for a 16-bit grey+alpha PNG, which OpenCV
    expands to four channels.
    """
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.dtype != np.uint16 or decoded.ndim != 3:
        return None
    if decoded.shape[2] == 3:
        decoded = decoded[..., ::-1]
    elif decoded.shape[2] == 4:
        grey_alpha = data[:8] == _PNG_SIGNATURE and data[25] == _PNG_GREY_ALPHA
        decoded = decoded[..., [0, 3]] if grey_alpha else decoded[..., [2, 1, 0, 3]]
    else:
        raise _fail(path, f"unsupported channel count {decoded.shape[2]}")
    return decoded.astype(np.float32) / 65535.0


@dataclass(frozen=True)
class ImageInfo:
    """What an image file's header says, read without decoding its pixels.

    Attributes:
        height: Rows (after the EXIF orientation is applied).
        width: Columns (after the EXIF orientation is applied).
        channels: Colour channels of :func:`read_image`'s pixels (1 or 3).
        alpha: Whether :func:`read_image` will return an alpha channel too.
        path: The file.
    """

    height: int
    width: int
    channels: int
    alpha: bool
    path: Path

    @property
    def values(self) -> int:
        """Pixels times channels, alpha included: what memory estimates scale with."""
        return self.height * self.width * (self.channels + self.alpha)

    def check_memory(self, bytes_per_value: int) -> None:
        """Refuse the image if ``bytes_per_value`` per value exceed the memory available.

        Raises:
            DefocusError: Naming the file, its size and the estimate.
        """
        check_memory(
            self.values * bytes_per_value, f"{self.path} ({self.width}x{self.height} pixels)"
        )


def _open(p: Path, data: bytes | None = None) -> Image.Image:
    """Open ``p`` with Pillow (lazily: pixels are not decoded) and check what it holds."""
    try:
        img = Image.open(io.BytesIO(data) if data is not None else p)
    except UnidentifiedImageError:
        raise _fail(p, "not a recognised image file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _fail(p, f"cannot read image ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise _fail(p, f"image too large ({exc})") from None
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        kind = "pages" if img.format == "TIFF" else "frames"
        raise _fail(p, f"holds {frames} {kind}; only single images are supported (split it first)")
    return img


def probe_image(path: str | os.PathLike[str]) -> ImageInfo:
    """Read an image file's header: its size and channels, without decoding pixels.

    Commands probe every input before they start writing, so that a bad file among
    many is reported before any work is done.

    Raises:
        DefocusError: If the file is missing, not an image, holds several pages or
            frames, or is of an unsupported kind (as :func:`read_image` would).
    """
    p = Path(path)
    if not p.is_file():
        raise _fail(p, "is a folder, not an image file" if p.is_dir() else "no such file")
    with _open(p) as img:
        width, height = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except (OSError, SyntaxError, ValueError) as exc:
            raise _fail(p, f"cannot read image ({exc})") from None
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        grey = img.mode in ("1", "L", "LA", "La", "I", "F") or img.mode.startswith("I;16")
        alpha = img.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in img.info
    return ImageInfo(height=height, width=width, channels=1 if grey else 3, alpha=alpha, path=p)


def read_image(path: str | os.PathLike[str]) -> ImageData:
    """Read an image file at full precision.

    Handles grey, grey+alpha, RGB, RGBA, palette (with or without transparency),
    CMYK, 8- and 16-bit files; EXIF orientation is applied to the pixels.

    Args:
        path: Image file.

    Returns:
        The pixels and the metadata needed to write the image back.

    Raises:
        DefocusError: With a one-line message naming the file, if it is missing,
            not an image, truncated or of an unsupported kind.
    """
    p = Path(path)
    if not p.exists():
        raise _fail(p, "no such file")
    if p.is_dir():
        raise _fail(p, "is a folder, not an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _fail(p, f"cannot read file ({exc.strerror or exc})") from None
    img = _open(p, data)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise _fail(p, f"cannot read image ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise _fail(p, f"image too large ({exc})") from None

    exif = img.getexif()
    if img.format == "TIFF":
        for tag in _TIFF_LAYOUT_TAGS & set(exif):
            del exif[tag]
    orientation = exif.get(0x0112, 1)
    icc = None if img.mode in _CONVERTED_MODES else img.info.get("icc_profile")
    fmt = img.format or _PIL_FORMAT.get(p.suffix.lower(), "PNG")

    arr = None
    bit_depth = 8
    if p.suffix.lower() in _CV2_HIGH_DEPTH and img.mode in ("RGB", "RGBA", "LA"):
        arr = _read_high_depth(p, data)
        if arr is not None:
            bit_depth = 16
    if arr is None:
        arr, bit_depth = _pil_to_array(img, p)
    if orientation != 1:
        arr = _apply_orientation(arr, orientation)
        exif[0x0112] = 1

    if not arr.flags.writeable:  # a decoder's buffer (32-bit float TIFF): torch needs its own
        arr = arr.copy()
    channels = arr.shape[2]
    colour = 1 if channels in (1, 2) else 3
    pixels = torch.from_numpy(np.ascontiguousarray(arr[..., :colour].transpose(2, 0, 1)))
    alpha = None
    if channels in (2, 4):
        alpha = torch.from_numpy(np.ascontiguousarray(arr[..., colour:].transpose(2, 0, 1)))
    return ImageData(
        pixels=pixels,
        alpha=alpha,
        bit_depth=bit_depth,
        format=fmt,
        icc_profile=icc,
        exif=exif.tobytes() if len(exif) else None,
        path=p,
    )


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip ``(H, W, C)`` pixels as EXIF orientation ``1..8`` prescribes."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


def quantise(x: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Clip to ``[0, 1]`` and round to the levels of a ``bit_depth``-bit file (floats out).

    Applied to the float32 pixels of :func:`read_image` in float64, it recovers the
    file's levels ``k / (2^bits - 1)`` exactly, as if they had been divided in float64.

    Shape:
        Any; returned unchanged.
    """
    peak = float(2**bit_depth - 1)
    return torch.round(x.clamp(0.0, 1.0) * peak) / peak


# Rows quantised at a time by :func:`_quantise` (bounds its float64 temporaries).
_QUANTISE_ELEMENTS = 2**22


def _quantise(
    pixels: torch.Tensor | np.ndarray, alpha: torch.Tensor | np.ndarray | None, bit_depth: int
) -> np.ndarray:
    """``(C, H, W)`` colour (+ ``(1, H, W)`` alpha) in [0, 1] → ``(H, W, C[+1])`` integers.

    Rounds in float64, a band of rows at a time, so that the temporaries stay small
    for any image size.
    """
    peak = 65535 if bit_depth == 16 else 255
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    planes = [pixels] if alpha is None else [pixels, alpha]
    planes = [p.detach().cpu() if isinstance(p, torch.Tensor) else np.asarray(p) for p in planes]
    channels = sum(int(p.shape[0]) for p in planes)
    height, width = int(planes[0].shape[1]), int(planes[0].shape[2])
    out = np.empty((height, width, channels), dtype=dtype)
    rows = max(1, _QUANTISE_ELEMENTS // max(1, width * channels))
    for start in range(0, height, rows):
        band = np.concatenate(
            [np.asarray(p[:, start : start + rows], dtype=np.float64) for p in planes]
        )
        if not np.isfinite(band).all():
            raise ValueError("pixels contain NaN or infinite values")
        band = np.clip(np.rint(np.clip(band, 0.0, 1.0) * peak), 0, peak)
        out[start : start + rows] = band.transpose(1, 2, 0)
    return out


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _add_png_metadata(png: bytes, icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """Insert ``iCCP`` and ``eXIf`` chunks right after the ``IHDR`` chunk of ``png``."""
    extra = b""
    if icc_profile:
        extra += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile))
    if exif:
        extra += _png_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, length+type, IHDR payload, CRC
    return png[:end_of_ihdr] + extra + png[end_of_ihdr:]


def _encode_high_depth(
    q: np.ndarray, suffix: str, icc_profile: bytes | None, exif: bytes | None
) -> bytes | None:
    """Encode ``(H, W, C)`` uint16 pixels with OpenCV; ``None`` if it fails.

    Grey+alpha, which OpenCV cannot write, is stored as RGBA with equal colour channels.
    ICC profile and EXIF are embedded in PNG files only.
    """
    if q.shape[2] == 2:
        q = q[..., [0, 0, 0, 1]]
    if q.shape[2] >= 3:
        q = q[..., [2, 1, 0, 3][: q.shape[2]]]
    ok, buf = cv2.imencode(suffix, np.ascontiguousarray(q))
    if not ok:
        return None
    data = buf.tobytes()
    return _add_png_metadata(data, icc_profile, exif) if suffix == ".png" else data


def _encode_pil(
    q: np.ndarray, fmt: str, icc_profile: bytes | None, exif: bytes | None, quality: int
) -> bytes:
    """Encode ``(H, W, C)`` uint8 pixels with Pillow in format ``fmt``."""
    img = Image.fromarray(q[..., 0] if q.shape[2] == 1 else q)
    if fmt == "JPEG" and img.mode in ("RGBA", "LA"):
        img = img.convert(img.mode[:-1])
    params: dict[str, object] = {}
    if icc_profile and fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        params["icc_profile"] = icc_profile
    if exif and fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        params["exif"] = exif
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = quality
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def write_image(
    path: str | os.PathLike[str],
    pixels: torch.Tensor | np.ndarray,
    *,
    bit_depth: int = 8,
    alpha: torch.Tensor | np.ndarray | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    quality: int = 95,
) -> None:
    """Write ``(C, H, W)`` pixels in ``[0, 1]`` to ``path`` atomically.

    The format follows the extension. 16-bit output is supported for PNG and TIFF
    (16-bit grey+alpha is stored as RGBA with equal colour channels; 16-bit TIFF
    files carry no ICC profile or EXIF); other formats are written with 8 bits. The
    image is encoded in memory first and the file appears only once complete: a
    failure leaves no partial file and an existing file untouched.

    Args:
        path: Destination; its folder must exist.
        pixels: 1 or 3 channels, values outside ``[0, 1]`` are clipped.
        bit_depth: 8 or 16.
        alpha: Optional ``(1, H, W)`` alpha channel in ``[0, 1]`` (dropped for JPEG).
        icc_profile: ICC profile to embed (PNG, JPEG, TIFF, WebP).
        exif: EXIF bytes to embed (JPEG, PNG, TIFF, WebP).
        quality: JPEG/WebP quality.

    Shape:
        ``pixels``: ``(C, H, W)`` with ``C`` in {1, 3}; ``alpha``: ``(1, H, W)``.

    Raises:
        DefocusError: If the folder does not exist, the extension is unsupported or
            the image cannot be encoded in that format (e.g. too large for WebP).
    """
    p = Path(path)
    if not p.parent.is_dir():
        raise _fail(p, f"output folder {p.parent} does not exist")
    suffix = p.suffix.lower()
    if suffix not in _PIL_FORMAT:
        raise _fail(p, f"unsupported output format {p.suffix or '(no extension)'!r}")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    shape = tuple(pixels.shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ValueError(f"expected (C, H, W) pixels with C in {{1, 3}}, got {shape}")
    if alpha is not None and tuple(alpha.shape) != (1, *shape[1:]):
        raise ValueError(f"alpha of shape {tuple(alpha.shape)} does not fit pixels {shape}")
    if suffix not in _CV2_HIGH_DEPTH:
        bit_depth = 8
    try:
        q = _quantise(pixels, alpha, bit_depth)
    except ValueError as exc:
        raise _fail(p, f"refusing to write an image whose {exc}") from None
    try:
        if bit_depth == 16:
            data = _encode_high_depth(q, suffix, icc_profile, exif)
        else:
            data = _encode_pil(q, _PIL_FORMAT[suffix], icc_profile, exif, quality)
    except (OSError, ValueError, cv2.error) as exc:
        raise _fail(p, f"could not encode image ({exc})") from None
    if data is None:
        raise _fail(p, "could not encode image")
    atomic_write_bytes(p, data)
