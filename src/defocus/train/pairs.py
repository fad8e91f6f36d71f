"""A held-out validation image of a run.

In a module of its own: the trainer, the data and the blur-map validation of
:mod:`defocus.train.task` all use it, and the task module sits below the config, which
the data module needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ValidationPair:
    """One held-out image, whole, with its degraded copy.

    Attributes:
        name: Image name (file stem or ``scene-N``).
        blurry: Degraded image, shape :math:`(1, C, H, W)`.
        sharp: Ground truth, shape :math:`(1, C, H, W)` (a masked photo: itself).
        blur_map: True blur radius ``(1, 1, H, W)`` of a realistic scene, for blur-map
            runs; ``None`` otherwise.
        defocus_mask: Defocus mask ``(1, 1, H, W)`` of a real photo, for blur-map runs;
            ``None`` otherwise.
    """

    name: str
    blurry: torch.Tensor
    sharp: torch.Tensor
    blur_map: torch.Tensor | None = None
    defocus_mask: torch.Tensor | None = None
