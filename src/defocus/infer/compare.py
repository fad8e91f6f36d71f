"""Side-by-side before/after figures labelled with the sharpness Q of each image."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from defocus.metrics.sharpness import sharpness_q

PANEL = 1024
"""Largest panel side; bigger images are shown as a centred 100 % crop of this size."""
CAPTION_HEIGHT = 28
GAP = 8


def q_value(image: torch.Tensor) -> float | None:
    """Sharpness Q of one ``(C, H, W)`` image, or ``None`` if it is smaller than a Q patch."""
    try:
        return float(sharpness_q(image[None].double())[0])
    except ValueError:
        return None


def _panel(image: torch.Tensor) -> tuple[np.ndarray, bool]:
    """8-bit RGB ``(h, w, 3)`` of ``image``, centre-cropped to :data:`PANEL`; cropped?"""
    height, width = image.shape[-2:]
    top, left = max(0, (height - PANEL) // 2), max(0, (width - PANEL) // 2)
    crop = image[:, top : top + PANEL, left : left + PANEL].expand(3, -1, -1)
    pixels = (crop.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return pixels, (height > PANEL or width > PANEL)


def q_caption(label: str, image: torch.Tensor) -> str:
    """``label`` followed by the Q of ``image`` (or ``Q n/a`` if it is too small)."""
    q = q_value(image)
    return f"{label}   Q = {q:.4f}" if q is not None else f"{label}   Q n/a"


def fit_caption(caption: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """Shorten each line of ``caption`` with an ellipsis so that it fits in ``width`` pixels."""
    lines = []
    for line in caption.split("\n"):
        if font.getlength(line) > width:
            while line and font.getlength(line + "…") > width:
                line = line[:-1]
            line += "…"
        lines.append(line)
    return "\n".join(lines)


def side_by_side(images: Sequence[torch.Tensor], captions: Sequence[str]) -> Image.Image:
    """Put same-sized images side by side, each under its caption (may span lines).

    Images larger than :data:`PANEL` pixels are shown as their centred ``PANEL`` x
    ``PANEL`` crop at 100 % (so that sharpness stays visible), which the caption says.

    Args:
        images: Images in ``[0, 1]``, all of one size.
        captions: One caption per image; a newline in it starts a second line. Lines
            wider than the image are shortened with an ellipsis.

    Returns:
        An 8-bit RGB image.

    Shape:
        ``images``: each :math:`(C, H, W)` with ``C`` in {1, 3}.
    """
    sizes = {tuple(image.shape[-2:]) for image in images}
    if len(sizes) != 1:
        raise ValueError(f"sizes differ: {sorted(sizes)}")
    font = ImageFont.load_default(size=18)
    panels = []
    for image, caption in zip(images, captions, strict=True):
        pixels, cropped = _panel(image.detach().float().cpu())
        panels.append((pixels, caption + ("   (centre crop, 100 %)" if cropped else "")))
    height, width = panels[0][0].shape[:2]
    top = CAPTION_HEIGHT * max(caption.count("\n") + 1 for _, caption in panels)
    figure = Image.new("RGB", (len(panels) * (width + GAP) - GAP, height + top), "white")
    draw = ImageDraw.Draw(figure)
    for index, (pixels, caption) in enumerate(panels):
        left = index * (width + GAP)
        figure.paste(Image.fromarray(pixels), (left, top))
        text = fit_caption(caption, font, width - 8)
        draw.multiline_text((left + 4, 4), text, fill="black", font=font, spacing=8)
    return figure


def comparison_figure(
    before: torch.Tensor, after: torch.Tensor, labels: tuple[str, str] = ("before", "after")
) -> Image.Image:
    """Put ``before`` and ``after`` side by side, each captioned with its label and Q.

    Q (:func:`defocus.metrics.sharpness.sharpness_q`, higher is sharper) is computed on
    the full images; large images are shown as a centre crop (see :func:`side_by_side`).

    Args:
        before: Input image in ``[0, 1]``.
        after: Restored image of the same size.
        labels: Names shown in the two captions.

    Returns:
        An 8-bit RGB image.

    Shape:
        ``before``, ``after``: :math:`(C, H, W)` with ``C`` in {1, 3}.
    """
    images = (before, after)
    return side_by_side(
        images, [q_caption(label, x) for label, x in zip(labels, images, strict=True)]
    )
