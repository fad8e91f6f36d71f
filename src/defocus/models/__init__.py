"""Deblurring networks and the model registry."""
