"""Helpers shared by the dataset tests: small fixture images and synthetic captures."""

from pathlib import Path

import cv2
import numpy as np
import scipy.ndimage as ndi

from defocus.degrade import disk_kernel
from defocus.io import read_image, write_image


def save_image(path, pixels, bit_depth=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, pixels, bit_depth=bit_depth)
    return path


def random_pixels(seed, channels=3, size=(24, 30)):
    return np.random.default_rng(seed).random((channels, *size))


ASSET = Path(__file__).resolve().parents[2] / "src" / "defocus" / "assets" / "kodim23_crop256.png"
KODAK = Path(__file__).resolve().parents[3] / "shared" / "data" / "test" / "Kodak24"
GAIN = np.array([1.12, 0.95, 0.82])
OFFSET = np.array([0.02, 0.0, 0.05])


def photo():
    return np.ascontiguousarray(read_image(ASSET).pixels.numpy().transpose(1, 2, 0), np.float64)


def synthesise(gt, angle, shift, radius, gain=GAIN, offset=OFFSET):
    """Capture = colour cast ∘ disk blur ∘ rigid motion of the ground truth."""
    h, w = gt.shape[:2]
    gt = gt.astype(np.float32)  # OpenCV 5.0's cubic warpAffine is wrong on float64 RGB
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[:, 2] += shift
    moved = cv2.warpAffine(gt, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    k = disk_kernel(radius).numpy()
    blurred = np.stack([ndi.convolve(moved[..., c], k, mode="mirror") for c in range(3)], -1)
    capture = np.clip(blurred * gain + offset, 0.0, 1.0).astype(np.float32)
    return capture, np.vstack([m, [0.0, 0.0, 1.0]])


def corner_rms(estimated, true, shape):
    h, w = shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float).T
    a = estimated @ corners
    b = true @ corners
    a, b = a[:2] / a[2], b[:2] / b[2]
    return float(np.sqrt(((a - b) ** 2).sum(axis=0).mean()))
