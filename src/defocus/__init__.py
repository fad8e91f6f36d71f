"""defocus: remove out-of-focus blur from photographs and judge restorations honestly."""

__version__ = "0.1.0"
