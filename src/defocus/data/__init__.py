"""Datasets: paired folders, DPDD/RealDOF/ARK layouts and synthetic defocus pairs."""
