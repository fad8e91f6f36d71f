"""Degradations (blur kernels, blur, noise) and sharpening operators."""

from defocus.degrade.sharpen import UnsharpMask, unsharp_mask

__all__ = [
    "UnsharpMask",
    "unsharp_mask",
]
