"""Where computations run: the one place that turns a device name into a device."""

from __future__ import annotations

import torch

from defocus.errors import DefocusError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a usable device.

    Raises:
        DefocusError: If the name is invalid or CUDA is asked for but unavailable.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise DefocusError(f"unknown device {device!r} (use auto, cpu or cuda)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DefocusError(f"device {device!r} requested but CUDA is not available")
    if resolved.type not in ("cpu", "cuda"):
        raise DefocusError(f"unsupported device {device!r} (use auto, cpu or cuda)")
    return resolved
