"""Sharpening sweep: how PSNR, Q and Ω react to ever stronger unsharp masking.

This reproduces the experiment of the EUSIPCO 2025 paper (its Figs. 1-2): a
reference photo is sharpened with increasing unsharp-mask amounts γ and each result
is scored against the reference. The no-reference sharpness Q keeps rising (it
rewards the ringing too), PSNR keeps falling (it penalises any change, including
the first, pleasant sharpening), and Ω rises while the image gets crisper, then falls
once ringing dominates.

The sweep reports two sharpness values: ``q``, the registered Zhu–Milanfar Q on
8x8 patches, and ``qin``, the inner Q of Ω on 2x2 sub-patches over the whole image
(the quantity of the paper's figures and of the "Qin" column of the calibration
table in ``metrics.md``). Once sharpening saturates many pixels at 0 or 1 (8-bit
clipping), ``q`` can fall again at large amounts (on the EUSIPCO ``GT.png`` it peaks
near γ = 5), whereas ``qin`` keeps rising.

Quantisation: each sharpened image is rounded and clipped to the bit depth of the
reference before scoring, as if it had been saved to a file like the reference (the
paper's ``sharp*.png`` files are 8-bit; the result is then bit-identical to MATLAB
``imsharpen``). Pass ``bit_depth=None`` to score the unclipped float result.

The figures are built with matplotlib's object-oriented API (no ``pyplot``, no
global backend change); save them with ``fig.savefig(path)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from defocus.degrade import unsharp_mask
from defocus.io import quantise
from defocus.metrics.base import create_metric
from defocus.metrics.omega import inner_q

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SWEEP_METRICS = ("psnr", "q", "qin", "omega")
DEFAULT_AMOUNTS = (0.0, 0.4, 0.8, 1.3, 2.0, 2.5, 3.5, 5.0, 7.0, 9.0, 11.8, 13.8)
LABELS = {"psnr": "PSNR (dB)", "q": "Q", "qin": "Qin", "omega": "Ω"}
LONG_LABELS = {
    "psnr": "PSNR (dB)",
    "q": "Q (Zhu–Milanfar, 8x8)",
    "qin": "Qin (Ω's inner Q, 2x2)",
    "omega": "Ω",
}


@dataclass
class SweepResult:
    """Scores of a sharpening sweep.

    Attributes:
        amounts: The unsharp-mask amounts γ, ascending.
        values: Metric name → one value per amount.
        views: For each amount, the sharpened image's central ``view x view`` pixels
            (the whole image if smaller), ``(C, h, w)`` in ``[0, 1]`` for display.
    """

    amounts: list[float]
    values: dict[str, list[float]]
    views: list[torch.Tensor] = field(default_factory=list)

    def rows(self) -> list[dict[str, float]]:
        """One dict per amount: ``{"amount": γ, "<metric>": value, ...}``."""
        return [
            {"amount": a, **{n: v[i] for n, v in self.values.items()}}
            for i, a in enumerate(self.amounts)
        ]


def _centre(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., top : top + size, left : left + size]


def _scorer(name: str, device: torch.device) -> tuple[Callable[..., torch.Tensor], tuple[str, ...]]:
    """A metric callable and the images it takes; ``"qin"`` is Ω's inner Q."""
    if name == "qin":
        return inner_q, ("restored",)
    metric = create_metric(name).to(device=device, dtype=torch.float64)
    return metric, tuple(metric.inputs)


def sharpening_sweep(
    reference: torch.Tensor,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
    radius: float = 1.0,
    bit_depth: int | None = 8,
    metrics: Sequence[str] = SWEEP_METRICS,
    view: int = 256,
    on_step: Callable[[float], None] | None = None,
) -> SweepResult:
    """Sharpen ``reference`` with each amount and score the result against it.

    Computed in float64 on the reference's device, one amount at a time (memory
    stays at a few copies of the image).

    Args:
        reference: One image in ``[0, 1]``, 1 or 3 channels.
        amounts: Unsharp-mask amounts γ (sorted ascending in the result).
        radius: Gaussian standard deviation of the unsharp mask.
        bit_depth: Quantise the reference and each sharpened image to this many bits
            (8 or 16) before scoring, or ``None`` to keep floats (no clipping).
        metrics: Registered metric names taking ``(restored, reference)`` or
            ``(restored,)``, or ``"qin"`` (inner Q of Ω over the whole image).
        view: Side of the central crop kept in :attr:`SweepResult.views`.
        on_step: Called with each amount once it is scored (progress reporting).

    Returns:
        The amounts, metric values and central crops.

    Shape:
        ``reference``: ``(1, C, H, W)`` or ``(C, H, W)``.
    """
    x = reference if reference.ndim == 4 else reference[None]
    x = x.to(torch.float64)
    if bit_depth is not None:
        x = quantise(x, bit_depth)
    scorers = {n: _scorer(n, x.device) for n in metrics}
    ordered = sorted(float(a) for a in amounts)
    result = SweepResult(ordered, {n: [] for n in metrics})
    with torch.no_grad():
        for amount in ordered:
            y = unsharp_mask(x, amount, radius)
            if bit_depth is not None:
                y = quantise(y, bit_depth)
            for name, (scorer, inputs) in scorers.items():
                args = (y, x) if "reference" in inputs else (y,)
                result.values[name].append(float(scorer(*args)[0]))
            result.views.append(_centre(y[0], view).clamp(0.0, 1.0).float().cpu())
            if on_step is not None:
                on_step(amount)
    return result


def _finite(amounts: Sequence[float], values: Sequence[float]) -> tuple[list, list]:
    keep = [i for i, v in enumerate(values) if math.isfinite(v)]
    return [amounts[i] for i in keep], [values[i] for i in keep]


def plot_sweep(result: SweepResult, title: str) -> Figure:
    """Each metric (PSNR, Q, Qin, Ω) against the amount, one stacked panel each.

    The amount where Ω peaks is marked on every panel. Non-finite values (the PSNR
    of the unsharpened image is infinite) are left out of the curves.
    """
    from matplotlib.figure import Figure  # imported here: it is slow to import

    names = list(result.values)
    fig = Figure(figsize=(7.0, 1.9 * len(names) + 0.8), dpi=110)
    axes = list(fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0])
    colours = {"psnr": "tab:blue", "q": "tab:green", "qin": "tab:olive", "omega": "tab:red"}
    peak = None
    if "omega" in result.values:
        omega = result.values["omega"]
        peak = result.amounts[max(range(len(omega)), key=omega.__getitem__)]
    for ax, name in zip(axes, names, strict=True):
        xs, ys = _finite(result.amounts, result.values[name])
        ax.plot(xs, ys, marker="o", color=colours.get(name, "tab:gray"), lw=1.8)
        ax.set_ylabel(LONG_LABELS.get(name, name), fontsize=9)
        ax.grid(True, alpha=0.3)
        if peak is not None:
            ax.axvline(peak, color="0.4", ls=":", lw=1.2)
    if peak is not None:
        axes[names.index("omega")].text(
            0.98,
            0.06,
            f"Ω peaks at γ = {peak:g}; ringing takes over beyond",
            transform=axes[names.index("omega")].transAxes,
            ha="right",
            va="bottom",
            fontsize=9,
            color="0.25",
        )
    axes[-1].set_xlabel("unsharp-mask amount γ")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def contact_sheet(result: SweepResult, columns: int = 4, dpi: int = 100) -> Figure:
    """The sharpened images (central crops, 1:1 pixels) in a grid, labelled with γ and scores."""
    from matplotlib.figure import Figure  # imported here: it is slow to import

    n = len(result.amounts)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    h, w = result.views[0].shape[-2:]
    # At least 2.9 inches per panel so that the labels fit; small crops are enlarged.
    panel_w = max(w / dpi, 2.9)
    panel_h = panel_w * h / w + 0.45
    fig = Figure(figsize=(panel_w * columns, panel_h * rows), dpi=dpi)
    axes = fig.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index >= n:
            continue
        view = result.views[index]
        pixels = view[0] if view.shape[0] == 1 else view.permute(1, 2, 0)
        ax.imshow(pixels.numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        items = [f"γ = {result.amounts[index]:g}"]
        items += [
            f"{LABELS.get(k, k).split(' ')[0]} {_short(v[index])}" for k, v in result.values.items()
        ]
        lines = ("   ".join(items[i : i + 3]) for i in range(0, len(items), 3))
        ax.set_title("\n".join(lines), fontsize=8)
    fig.tight_layout(pad=0.4)
    return fig


def _short(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
