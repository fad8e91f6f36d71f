"""Inference: deblurring images of any size with tiling."""
