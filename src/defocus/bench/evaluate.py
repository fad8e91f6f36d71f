"""Score restoration methods on protocol cases: per-image records of every metric and time.

A *restorer* is any callable ``restore(blurry, psf) -> restored`` on ``(1, 1, H, W)``
luma tensors; :func:`restorer` builds one from a short spec:

- ``"blurry"``: the degraded input itself (the do-nothing baseline);
- ``"wiener-oracle"``: Wiener deconvolution with the true PSF and, *per image*, the
  balance that maximises PSNR against the sharp reference (searched on a log grid).
  This is an **oracle**: it peeks at the reference, so no real method can select
  its parameter that way; it bounds what a well-tuned Wiener filter can reach;
- any classical method of :func:`defocus.classical.list_methods` (``"wiener"``,
  ``"richardson-lucy"``, ...), non-blind: it receives the true PSF;
- ``"model:NAME_OR_PATH"``: a trained network (shipped weights name or a
  ``.safetensors`` file), run whole-image in eval mode without gradients; it is blind
  (the PSF is ignored);
- ``"adapt:NAME_OR_PATH"`` (or ``"adapt:NAME_OR_PATH@REBLUR"``): the same network with
  test-time adaptation on each image (:mod:`defocus.infer.adapt`, default settings),
  with the reblurring module matched to shipped weights or the module file ``REBLUR``.

Outputs are clamped to ``[0, 1]`` before scoring (what saving them would do).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

import defocus.metrics  # noqa: F401  (registers the metrics)
from defocus.bench.protocols import Case
from defocus.classical import create_method, list_methods
from defocus.classical.wiener import wiener
from defocus.errors import DefocusError
from defocus.metrics.base import Metric, create_metric
from defocus.models.protocol import TwoStageDeblurrer
from defocus.runtime.precision import Precision, autocast_dtype, network_precision

Record = dict[str, Any]


@dataclass(frozen=True)
class ReferenceRestorer:
    """A restorer that is also given the sharp reference: ``restore(blurry, psf, sharp)``.

    Only oracles and diagnostics may look at the reference (e.g. ``"wiener-oracle"``);
    :func:`evaluate` passes it to these and to no other restorer.
    """

    restore: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def __call__(
        self, blurry: torch.Tensor, psf: torch.Tensor, sharp: torch.Tensor
    ) -> torch.Tensor:
        """Restore ``blurry`` knowing ``psf`` and the reference ``sharp``."""
        return self.restore(blurry, psf, sharp)


Restorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | ReferenceRestorer
"""``restore(blurry, psf) -> restored``, or a :class:`ReferenceRestorer`."""

DEFAULT_METRICS = ("psnr", "ssim", "q", "omega", "lpips")
ORACLE_BALANCES = torch.logspace(-7, 0, 29, dtype=torch.float64)
"""Coarse log grid of Wiener balances searched by the oracle (4 per decade), refined once."""


def _psnr(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    mse = (x.clamp(0, 1) - reference).square().flatten(1).mean(1)
    return -10 * torch.log10(mse.clamp_min(1e-20))


def wiener_oracle(
    blurry: torch.Tensor,
    psf: torch.Tensor,
    sharp: torch.Tensor,
    balances: torch.Tensor = ORACLE_BALANCES,
    chunk: int = 8,
) -> tuple[torch.Tensor, float]:
    """Wiener deconvolution with the PSNR-best balance for this image (an oracle).

    The balances of ``balances`` are tried (``chunk`` at a time, as one batch), then a
    finer grid of 9 values spanning one coarse step on each side of the best.

    Args:
        blurry: Degraded image.
        psf: True kernel ``(h, w)``.
        sharp: Reference image, used to choose the balance.
        balances: Coarse grid of balances (increasing).
        chunk: Balances per batched call (bounds memory).

    Returns:
        The restored image (not clipped) and the chosen balance.

    Shape:
        ``blurry``, ``sharp`` and the result: :math:`(1, C, H, W)`.
    """

    def search(grid: torch.Tensor) -> tuple[torch.Tensor, float, float]:
        best = (blurry, -math.inf, float(grid[0]))
        for part in grid.split(chunk):
            out = wiener(blurry.expand(len(part), *blurry.shape[1:]), psf, part.to(blurry.dtype))
            scores = _psnr(out, sharp)
            index = int(scores.argmax())
            if float(scores[index]) > best[1]:
                best = (out[index : index + 1], float(scores[index]), float(part[index]))
        return best

    _, _, coarse = search(balances)
    step = float(balances[1] / balances[0]) if len(balances) > 1 else 1.0
    fine = torch.logspace(
        math.log10(coarse / step), math.log10(coarse * step), 9, dtype=torch.float64
    )
    restored, _, balance = search(fine)
    return restored, balance


def restorer(spec: str, precision: Precision = "auto") -> Restorer:
    """Build a restorer from a spec (see the module docstring).

    Args:
        spec: ``"blurry"``, ``"wiener-oracle"``, a classical method name, or
            ``"model:NAME_OR_PATH"``.
        precision: Of a network's layers (see :mod:`defocus.runtime.precision`);
            classical methods always run in full precision.

    Returns:
        ``restore(blurry, psf) -> restored``; for ``"wiener-oracle"`` a
        :class:`ReferenceRestorer` (:func:`evaluate` gives it the reference).

    Raises:
        DefocusError: Unknown method, or unusable model weights.
    """
    if spec == "blurry":
        return lambda blurry, psf: blurry
    if spec == "wiener-oracle":
        return ReferenceRestorer(lambda blurry, psf, sharp: wiener_oracle(blurry, psf, sharp)[0])
    if spec.startswith("model:"):
        from defocus.infer.loading import load_model

        network = load_model(spec.removeprefix("model:"))
        device = next(network.parameters()).device
        two_stage = isinstance(network, TwoStageDeblurrer)
        half = autocast_dtype(precision, device, full_precision_output=two_stage)

        def run(blurry: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
            dtype = next(network.parameters()).dtype
            with torch.no_grad(), network_precision(half, blurry.device):
                return network(blurry.to(dtype)).to(dtype)

        return run
    if spec.startswith("adapt:"):
        return _adapted(spec.removeprefix("adapt:"), precision)
    if spec in list_methods():
        return create_method(spec)
    raise DefocusError(
        f"unknown method {spec!r}: expected blurry, wiener-oracle, model:NAME_OR_PATH, "
        "adapt:NAME_OR_PATH[@REBLUR] or one "
        f"of {', '.join(list_methods())}"
    )


def _adapted(spec: str, precision: Precision) -> Restorer:
    """The restorer of ``"adapt:MODEL[@REBLUR]"``: :func:`~defocus.infer.deblur` with adaptation."""
    from defocus.infer import deblur
    from defocus.infer.adapt import Adaptation, reblur_module_for
    from defocus.infer.loading import load_model

    name, _, module = spec.partition("@")
    network = load_model(name)
    settings = Adaptation(reblur=module or None)
    settings = dataclasses.replace(settings, reblur=reblur_module_for(settings, name))

    def run(blurry: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        return deblur(blurry, network, tile=0, precision=precision, adapt=settings)

    return run


def _score(metric: Metric, restored: torch.Tensor, case: Case) -> float:
    images = {"restored": restored, "reference": case.sharp, "blurry": case.blurry}
    if case.window is not None:
        top, left, height, width = case.window
        images = {k: v[..., top : top + height, left : left + width] for k, v in images.items()}
    with torch.no_grad():
        return float(metric(*(images[name] for name in metric.inputs)).mean())


def restore_case(restore: Restorer, case: Case) -> torch.Tensor:
    """Restore one case's blurry scene as :func:`evaluate` does (clamped to ``[0, 1]``).

    A :class:`ReferenceRestorer` (an oracle) is also given the sharp image.

    Shape:
        ``(1, C, H, W)`` like ``case.blurry``, in ``case.sharp``'s dtype.
    """
    if isinstance(restore, ReferenceRestorer):
        restored = restore(case.blurry, case.psf, case.sharp)
    else:
        restored = restore(case.blurry, case.psf)
    return restored.detach().to(case.sharp.dtype).clamp(0, 1)


def evaluate(
    restore: Restorer,
    cases: Iterable[Case],
    metrics: Sequence[str] = DEFAULT_METRICS,
    method: str = "",
    progress: Callable[[Case], None] | None = None,
) -> list[Record]:
    """Restore every case and score it.

    Args:
        restore: ``restore(blurry, psf) -> restored`` (see :func:`restorer`), or a
            :class:`ReferenceRestorer`, which is also given the sharp image.
        cases: Protocol cases (see :func:`defocus.bench.protocols.load_cases`).
        metrics: Registered metric names (see :func:`defocus.metrics.list_metrics`).
        method: Name stored in the records' ``method`` field.
        progress: Called after each case (e.g. to advance a progress bar).

    Returns:
        One record per case: ``method``, ``name``, ``group``, ``psf``, ``radius``,
        each metric, and ``seconds`` (CPU time of the restoration, all threads, from
        :func:`time.process_time`). Cases with a ``window`` that share their scene
        with the case before are scored on the same restoration (restored once; its
        ``seconds`` are counted on the scene's first case, 0 on the others).

    Raises:
        DefocusError: Unknown metric names.
    """
    scorers = {name: create_metric(name) for name in metrics}
    records = []
    scene: torch.Tensor | None = None  # the blurry scene last restored
    for case in cases:
        start = time.process_time()
        if case.window is None or case.blurry is not scene:  # else: a window just restored
            restored = restore_case(restore, case)
        scene = case.blurry
        seconds = time.process_time() - start
        record: Record = {
            "method": method,
            "name": case.name,
            "group": case.group,
            "psf": case.psf_spec,
            "radius": case.radius,
        }
        record.update({name: _score(metric, restored, case) for name, metric in scorers.items()})
        record["seconds"] = seconds
        records.append(record)
        if progress is not None:
            progress(case)
    return records
