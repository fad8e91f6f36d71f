"""Degradations (blur kernels, blur, noise) and sharpening operators."""

from defocus.degrade.blur import Blur, blur, convolve_valid, pad_image
from defocus.degrade.kernels import (
    box_kernel,
    disk_kernel,
    gaussian_kernel,
    load_psf,
    parse_psf,
    ring_kernel,
)
from defocus.degrade.noise import AddNoise, add_noise
from defocus.degrade.sharpen import UnsharpMask, unsharp_mask
from defocus.operators.fourier import circular_convolve, psf_to_otf

__all__ = [
    "AddNoise",
    "Blur",
    "UnsharpMask",
    "add_noise",
    "blur",
    "box_kernel",
    "circular_convolve",
    "convolve_valid",
    "disk_kernel",
    "gaussian_kernel",
    "load_psf",
    "pad_image",
    "parse_psf",
    "psf_to_otf",
    "ring_kernel",
    "unsharp_mask",
]
