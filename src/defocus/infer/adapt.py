"""Test-time adaptation (Nah et al., "Clean images are hard to reblur", ICCV 2021).

A deblurrer ``M_D`` trained on synthetic pairs meets, on a user's photo, blur it was
not trained for. The reblurring module ``M_R`` was trained to re-create the blur that
``M_D`` leaves in its outputs (and to leave sharp images alone), so
``||M_R(L) - sg(L)||_1`` with ``L = M_D(B)`` measures blur left in ``L`` without any
sharp image: :func:`adapt_deblurrer` takes a few Adam steps on that loss for the photo
itself, on random crops (bounded memory for any photo size), and returns the adapted
copy; :func:`defocus.infer.deblur` then restores the whole photo with it, tiled.

For a :class:`~defocus.models.protocol.TwoStageDeblurrer` (the default model) the
global stage runs once on the whole photo and only the local stage is adapted: crops
of its features are what the crops see, so the adapted network is used exactly as it
was adapted. Deterministic for a given ``seed`` (crop positions drawn from their own
generator; the networks run in eval mode).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from defocus.errors import DefocusError
from defocus.infer import loading
from defocus.losses.reblur import self_reblur_loss
from defocus.models.protocol import Deblurrer, TwoStageDeblurrer
from defocus.models.reblur import MATCHED_REBLUR, load_reblur_module
from defocus.runtime.precision import network_precision

ADAPT_STEPS = 10
"""Default Adam steps of :class:`Adaptation` (see ``docs/reblurring.md``)."""
ADAPT_LR = 1e-5
"""Default Adam learning rate of :class:`Adaptation` (the seed's order of magnitude)."""
ADAPT_CROP = 128
"""Default crop side of :class:`Adaptation` in pixels."""
ADAPT_BATCH = 4
"""Default crops per adaptation step."""
ADAPT_ANCHOR = 3.0
"""Default weight of :class:`Adaptation`'s anchor to the un-adapted output."""
LOSS_MARGIN = 16
"""Pixels at each crop border left out of the loss (the crop's own zero padding)."""
MAX_STEPS = 1000
"""Most adaptation steps accepted (a bound on the time one photo may take)."""


@dataclass(frozen=True)
class Adaptation:
    """How :func:`adapt_deblurrer` tunes a deblurrer on one photo.

    Attributes:
        steps: Adam steps (1 to :data:`MAX_STEPS`).
        lr: Adam learning rate (positive).
        crop: Side of the random crops in pixels (at least ``2 * LOSS_MARGIN + 8``);
            photos smaller than a crop are used whole.
        batch: Crops per step.
        seed: Seed of the crop positions.
        anchor: Weight μ of a proximal term ``μ·mean((1 - p)·|L - L0|)`` added to the
            reblurring loss (0 turns it off): ``L0`` is the un-adapted network's output
            of the same crop and ``p`` the model's probability that a pixel is out of
            focus (models without one are not anchored, see :func:`anchor_term`). The
            network is shared by the whole photo, so without it the steps that sharpen
            defocused regions also change in-focus ones (a sharp depth band lost
            0.6-0.9 dB); with it in-focus pixels stay nearer where they were
            (``docs/reblurring.md``).
        reblur: The reblurring module: a shipped name, a ``.safetensors`` file, a
            module, or ``None`` for the module matched to the shipped deblurrer (see
            :data:`~defocus.models.reblur.MATCHED_REBLUR`).
    """

    steps: int = ADAPT_STEPS
    lr: float = ADAPT_LR
    crop: int = ADAPT_CROP
    batch: int = ADAPT_BATCH
    seed: int = 0
    anchor: float = ADAPT_ANCHOR
    reblur: str | Path | nn.Module | None = None

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, before any image is read."""
        if not 1 <= self.steps <= MAX_STEPS:
            raise DefocusError(f"adaptation steps must be 1..{MAX_STEPS}, got {self.steps}")
        if not 0 < self.lr < math.inf:  # also refuses NaN
            raise DefocusError(f"adaptation learning rate must be positive, got {self.lr}")
        if self.crop < 2 * LOSS_MARGIN + 8:
            raise DefocusError(f"adaptation crop must be >= {2 * LOSS_MARGIN + 8}, got {self.crop}")
        if not 0 <= self.anchor < math.inf:
            raise DefocusError(f"adaptation anchor must be >= 0, got {self.anchor}")
        if self.batch < 1:
            raise DefocusError(f"adaptation batch must be positive, got {self.batch}")


def reblur_module_for(adaptation: Adaptation, model: str | Path | nn.Module) -> nn.Module:
    """The reblurring module ``adaptation`` asks for, given the deblurrer ``model``.

    Raises:
        DefocusError: If ``adaptation.reblur`` is ``None`` and ``model`` is not a shipped
            deblurrer with a matched module, or the module cannot be loaded.
    """
    if isinstance(adaptation.reblur, nn.Module):
        return adaptation.reblur.eval()
    if adaptation.reblur is not None:
        return load_reblur_module(adaptation.reblur)
    name = loading.DEFAULT_WEIGHTS if model == "default" else str(model)
    if isinstance(model, nn.Module) or name not in MATCHED_REBLUR:
        raise DefocusError(
            f"no reblurring module is matched to {model_name(model)}; pass one trained on "
            "its outputs (--reblur-module PATH, Python: Adaptation(reblur=...)); shipped "
            f"deblurrers with one: {', '.join(sorted(MATCHED_REBLUR))}"
        )
    return load_reblur_module(MATCHED_REBLUR[name])


def model_name(model: str | Path | nn.Module) -> str:
    """How messages name a deblurrer given as a name, a path or a module."""
    return type(model).__name__ if isinstance(model, nn.Module) else repr(str(model))


def crop_corners(
    height: int, width: int, crop: int, count: int, multiple: int, generator: torch.Generator
) -> list[tuple[int, int]]:
    """``count`` random top-left corners of ``crop x crop`` windows inside the image.

    Corners are multiples of ``multiple`` (so a crop sees what a tile would); a side
    shorter than ``crop`` gives corner 0 on that axis.
    """
    corners = []
    for _ in range(count):
        spots = [max(0, side - crop) // multiple + 1 for side in (height, width)]
        top, left = (int(torch.randint(n, (1,), generator=generator)) * multiple for n in spots)
        corners.append((top, left))
    return corners


def anchor_term(
    model: Deblurrer, source: torch.Tensor, restored: torch.Tensor, margin: int
) -> torch.Tensor:
    """``mean((1 - p)·|L - L0|)``: how far adaptation moved the in-focus pixels.

    ``L0`` is ``model``'s output and ``p`` its probability that a pixel is out of focus
    (:meth:`~defocus.models.protocol.TwoStageDeblurrer.defocus_probability`): in-focus
    regions are held, defocused ones are free to adapt. A model without such an
    estimate is not anchored (the term is 0): holding every pixel would stop the
    adaptation altogether.

    Args:
        model: The un-adapted deblurrer.
        source: The crops the adapted network read (input or features).
        restored: The adapted network's output of them.
        margin: Pixels at each border left out.

    Shape:
        ``source (B, F, h, w)``, ``restored (B, C, h, w)`` -> ``()``.
    """
    probability = (
        model.defocus_probability(source) if isinstance(model, TwoStageDeblurrer) else None
    )
    if probability is None:
        return restored.new_zeros(())
    height, width = restored.shape[-2:]
    inner = (..., slice(margin, height - margin), slice(margin, width - margin))
    with torch.no_grad():
        before = model.fuse(source).to(restored.dtype)
    drift = (restored[inner] - before[inner]).abs()
    return ((1 - probability[inner].to(drift.dtype)) * drift).mean()


def adapt_deblurrer(
    model: Deblurrer,
    reblur: nn.Module,
    source: torch.Tensor,
    adaptation: Adaptation,
    half: torch.dtype | None = None,
    progress: Callable[[int], None] | None = None,
) -> Deblurrer:
    """A copy of ``model`` tuned on one image by :func:`~defocus.losses.self_reblur_loss`.

    Each step minimises ``self_reblur_loss(L) + anchor · mean((1 - p)·|L - L0|)`` over a
    batch of crops (both without the loss margin; see :func:`anchor_term`).

    Args:
        model: The deblurrer (left unchanged).
        reblur: ``M_R`` trained on ``model``'s outputs (frozen; left unchanged).
        source: What the adapted stage reads: the model input (a single-stage
            deblurrer) or ``model.prepare`` of it (a two-stage one, whose ``fuse`` is
            what is adapted).
        adaptation: Steps, learning rate, crops, seed.
        half: Autocast dtype of the network passes (``None``: full precision).
        progress: Called with the number of steps done after each step.

    Returns:
        The adapted copy, in eval mode (BatchNorm statistics are never re-estimated
        from one image).

    Shape:
        ``source``: :math:`(1, F, H, W)`.
    """
    adapted = copy.deepcopy(model).eval()
    local = adapted.fuse if isinstance(adapted, TwoStageDeblurrer) else adapted.forward
    reblur = reblur.to(source.device)
    dtype = next(adapted.parameters()).dtype
    trainable = [p for p in adapted.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=adaptation.lr)
    generator = torch.Generator().manual_seed(adaptation.seed)
    height, width = source.shape[-2:]
    crop_h, crop_w = min(adaptation.crop, height), min(adaptation.crop, width)
    margin = LOSS_MARGIN if min(crop_h, crop_w) > 4 * LOSS_MARGIN else 0
    with torch.enable_grad():
        for step in range(adaptation.steps):
            corners = crop_corners(
                height, width, adaptation.crop, adaptation.batch, model.multiple, generator
            )
            crops = torch.cat([source[..., t : t + crop_h, s : s + crop_w] for t, s in corners])
            crops = crops.to(dtype)
            optimizer.zero_grad(set_to_none=True)
            with network_precision(half, source.device):
                restored = local(crops).to(dtype)
                loss = self_reblur_loss(reblur, restored, margin=margin)
                if adaptation.anchor > 0:
                    loss = loss + adaptation.anchor * anchor_term(model, crops, restored, margin)
            loss.backward()
            optimizer.step()
            if progress is not None:
                progress(step + 1)
    return adapted
