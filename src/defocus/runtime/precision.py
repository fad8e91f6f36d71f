"""Numeric precision of networks at inference: float32, or bfloat16/float16 autocast.

``auto`` runs a network under bfloat16 autocast on CPUs with native bfloat16 matrix
units (AVX-512 BF16 / AMX, detected through oneDNN) and under bfloat16 (or float16
where bfloat16 is missing) autocast on CUDA, and in float32 elsewhere -- but only a
network whose output image is formed in full precision: two-stage models such as the
default model, whose U-Net predicts per-pixel weights and a residual that are
combined with full-precision Wiener candidates. A single-stage network's output *is*
its last layer's output, which bfloat16 (8-bit mantissa) would limit to about 8 bits
(16-bit files, restorations above ~45 dB), so ``auto`` keeps those in float32; ask for
``bf16`` explicitly to trade that for speed. Global stages that need full precision
(FFT/DCT Wiener deconvolution, GCV, blur estimation statistics) disable autocast
themselves, and tiles are accumulated in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

from defocus.errors import DefocusError

Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
_HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (oneDNN's check)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(
    precision: str, device: torch.device, full_precision_output: bool = True
) -> torch.dtype | None:
    """The autocast dtype ``precision`` means on ``device``; ``None`` for float32.

    Args:
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device: Where the network runs.
        full_precision_output: Whether the network forms its output image in full
            precision (see the module docstring); ``auto`` is float32 otherwise.

    ``auto`` falls back to float32 silently where no fast half type exists; an
    explicit ``bf16``/``fp16`` is honoured wherever PyTorch supports it (on CPUs
    without native units it runs, slowly).

    Raises:
        DefocusError: For an unknown precision name.
    """
    if precision not in PRECISIONS:
        raise DefocusError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "fp32":
        return None
    if precision != "auto":
        return _HALF[precision]
    if not full_precision_output:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def network_precision(dtype: torch.dtype | None, device: torch.device) -> Iterator[None]:
    """Run the enclosed network calls under autocast to ``dtype`` (``None``: float32)."""
    if dtype is None:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield
