"""Degradations (blur kernels, blur, noise) and sharpening operators."""
