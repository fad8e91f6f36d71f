"""Resource limits: checked before work starts, so that absurd input fails in a second.

- **PSF size**: a kernel side of at most :data:`MAX_PSF_SIDE` taps (disk and ring radius
  up to 1024 px, Gaussian σ up to 341 px, box up to 2049 px), and never larger than
  the image it blurs or deblurs (:func:`check_psf_fits`).
- **Iterations** of iterative methods: at most :data:`MAX_ITERATIONS`.
- **Memory**: a command estimates what it will allocate from the image sizes in the
  file headers and refuses when that exceeds the memory available
  (:func:`check_memory`). The budget is the machine's available memory, or the
  ``DEFOCUS_MEMORY_LIMIT`` environment variable (bytes, or with a ``K``/``M``/``G``
  suffix) when set.
"""

from __future__ import annotations

import os

from defocus.errors import DefocusError

MAX_PSF_SIDE = 2049
MAX_ITERATIONS = 100_000
MEMORY_LIMIT_ENV = "DEFOCUS_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def check_psf_side(side: int, what: str) -> None:
    """Refuse kernels wider than :data:`MAX_PSF_SIDE` before they are allocated.

    Args:
        side: Kernel side in taps that ``what`` would give.
        what: The parameter, for the message (e.g. ``"disk radius 1e+09"``).

    Raises:
        ValueError: If ``side`` exceeds the limit.
    """
    if side > MAX_PSF_SIDE:
        raise ValueError(
            f"{what} gives a {side:.0f}-tap kernel; at most {MAX_PSF_SIDE} taps per side "
            "are supported"
        )


def check_psf_fits(
    psf_shape: tuple[int, ...], image_shape: tuple[int, ...], source: str | None = None
) -> None:
    """Refuse a PSF taller or wider than the image.

    Args:
        psf_shape: Shape of the kernel(s); the last two sizes are ``(h, w)``.
        image_shape: Shape of the image(s) as the user sees them; last two ``(H, W)``.
        source: The image file, named at the start of the message when given.

    Raises:
        DefocusError: Reporting both sizes as ``WIDTHxHEIGHT``.
    """
    (h, w), (height, width) = psf_shape[-2:], image_shape[-2:]
    if h > height or w > width:
        where = f"{source}: " if source else ""
        raise DefocusError(f"{where}image is {width}x{height} pixels, smaller than the {w}x{h} PSF")


def check_iterations(iterations: int) -> int:
    """Return ``iterations`` if it is in ``1 .. MAX_ITERATIONS``.

    Raises:
        ValueError: Otherwise.
    """
    if int(iterations) != iterations or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be an integer in 1..{MAX_ITERATIONS}, got {iterations}")
    return int(iterations)


def parse_bytes(text: str) -> int:
    """``"512M"`` → 536870912; plain numbers are bytes.

    Raises:
        ValueError: If the text is not a non-negative size.
    """
    value = text.strip().upper().removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS else ""
    number = float(value[: len(value) - len(unit)])
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"not a memory size: {text!r}")
    return int(number * _UNITS[unit])


def available_memory() -> int:
    """Bytes this process may allocate: ``DEFOCUS_MEMORY_LIMIT``, else available RAM.

    Available RAM is Linux's ``MemAvailable``; elsewhere the physical memory.

    Raises:
        DefocusError: If ``DEFOCUS_MEMORY_LIMIT`` is set but malformed.
    """
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    if limit:
        try:
            return parse_bytes(limit)
        except ValueError:
            raise DefocusError(
                f"{MEMORY_LIMIT_ENV}={limit!r}: expected a size such as 4G or 512M"
            ) from None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(needed: int, what: str) -> None:
    """Refuse work whose estimated peak memory exceeds :func:`available_memory`.

    Args:
        needed: Estimated bytes.
        what: The job, for the message (e.g. the image file and its size).

    Raises:
        DefocusError: With the estimate and the budget in GB.
    """
    budget = available_memory()
    if needed > budget:
        raise DefocusError(
            f"{what}: needs about {needed / 2**30:.1f} GB of memory, "
            f"{budget / 2**30:.1f} GB available"
        )
