"""Command-line interface (``defocus``), a thin layer over the library."""
