"""Registry of the classical deblurring methods: ``create_method("wiener")(y, psf)``.

Every registered factory takes keyword parameters (the defaults below) and returns a
callable ``method(y, psf) -> x`` working on ``(B, C, H, W)`` batches in ``[0, 1]``,
``psf`` a kernel ``(h, w)`` or a spec such as ``"disk:3"``.

========================  =============================================================
name                      defaults
========================  =============================================================
``wiener``                ``balance="auto"`` (GCV), ``regulariser="laplacian"``,
                          ``padding="mirror"``
``wiener-blind``          disk radius and balance by GCV (:mod:`defocus.classical.blind`),
                          ``"symmetric"`` boundary; the PSF argument is ignored
``richardson-lucy``       ``iterations=30``, ``padding="mirror"``, ``init="observed"``
``al``                    ``iterations=100``, ``p=0``, ``padding="reflect"`` (=
                          ``"reflect-101"``, the boundary of the blur used as black box)
``mrl``                   ``iterations=500``, ``eps=1e-6``, ``padding="reflect"``
``mlm``                   ``iterations=100``, ``a = 100·NSR``, ``padding="reflect"``
``red-fp``                ``lam=0.02``, ``sigma=√2``, ``denoiser_sigma=3.25``,
                          ``iterations=200``, ``denoiser="guided"``, ``padding="mirror"``
``red-sd``                as ``red-fp`` with ``iterations=1500``
``gwis``                  grid-warping sharpening (:mod:`defocus.classical.gwis`), blur
                          level ``σ = k · r_eff`` of the PSF (k of
                          :data:`GWIS_PER_PSF_RADIUS`) unless ``sigma`` is given; no
                          boundary model
``gwis-blind``            GWIS with ``σ = k · r`` per pixel, r from the blur map of
                          :func:`defocus.blurmap.estimate_blur_map` (``estimator=``,
                          default the shipped network), faded in over r = 1 … 2 px
                          (in-focus pixels stay); PSF ignored
========================  =============================================================

``padding`` names the boundary model a method assumes (:mod:`defocus.operators.boundary`);
for the Fourier methods it is their working domain (:mod:`defocus.operators.domain`:
``"mirror"`` is ``"reflect-101"`` solved exactly for symmetric PSFs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from defocus.blurmap.estimate import DEFAULT_ESTIMATOR, estimate_blur_map
from defocus.classical.blackbox import blur_operator, landweber_al, modified_lm, modified_rl
from defocus.classical.blind import blind_wiener
from defocus.classical.gwis import MAX_SIGMA, WARP_ITERATIONS, gwis
from defocus.classical.operators import check_observation
from defocus.classical.red import red
from defocus.classical.richardson_lucy import richardson_lucy
from defocus.classical.wiener import wiener
from defocus.degrade.blur import as_psf_tensor
from defocus.degrade.lens import effective_radius
from defocus.edges import EDGE_THRESHOLD
from defocus.errors import DefocusError
from defocus.registry import Registry

DeblurMethod = Callable[[torch.Tensor, Any], torch.Tensor]
BLIND_METHODS = ("gwis-blind", "wiener-blind")
"""Registered methods that estimate the blur themselves (their PSF argument is ignored)."""
GWIS_FADE_IN = (1.0, 2.0)
"""Estimated radii (pixels) over which ``gwis-blind`` fades its displacement in, from
none (in focus: GWIS would only thin sharp texture) to all."""
GWIS_PER_PSF_RADIUS = 0.91
"""GWIS blur parameter per pixel of a known PSF's effective radius, ``σ = k · r_eff``."""
GWIS_PER_RADIUS: dict[str, float] = {"learned": 0.815, "gradient-ratio": 0.5, "gwis-cnn": 0.5}
"""GWIS blur parameter per pixel of the radius each blur-map estimator reads, ``σ = k · r``.
:data:`GWIS_PER_PSF_RADIUS` and ``learned`` are fitted on 48 crops of CBSD432 training
photos degraded as in the seed's Table 1 (``python scripts/fit_gwis_parameter.py``: the
median of log(best σ / r); docs/gwis-table1.md): the best parameter is close to the
radius, not to the Gaussian σ = r / 2 of the same second moment. The seed's CNN reads
``r = 2 σ`` of the best parameter, hence 0.5; ``gradient-ratio`` keeps the
second-moment rule (not fitted)."""
METHODS: Registry[DeblurMethod] = Registry("deblurring method")


@METHODS.register("wiener")
def _wiener(
    balance: float | str = "auto", regulariser: str = "laplacian", padding: str = "mirror"
) -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return wiener(y, psf, balance, regulariser, padding)  # type: ignore[arg-type]

    return method


@METHODS.register("wiener-blind")
def _wiener_blind() -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return blind_wiener(y)

    return method


@METHODS.register("richardson-lucy")
def _richardson_lucy(
    iterations: int = 30, padding: str = "mirror", init: str | float = "observed"
) -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return richardson_lucy(y, psf, iterations, padding, init)

    return method


@METHODS.register("al")
def _landweber_al(iterations: int = 100, p: float = 0.0, padding: str = "reflect") -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return landweber_al(y, blur_operator(psf, y, padding), iterations, p)

    return method


@METHODS.register("mrl")
def _modified_rl(
    iterations: int = 500, eps: float = 1e-6, padding: str = "reflect"
) -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return modified_rl(y, blur_operator(psf, y, padding), iterations, eps)

    return method


@METHODS.register("mlm")
def _modified_lm(
    iterations: int = 100, damping: float | None = None, padding: str = "reflect"
) -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        return modified_lm(y, blur_operator(psf, y, padding), iterations, damping)

    return method


def _red_factory(kind: str) -> Callable[..., DeblurMethod]:
    def factory(
        lam: float = 0.02,
        sigma: float = 2.0**0.5,
        denoiser_sigma: float = 3.25,
        iterations: int | None = None,
        denoiser: str = "guided",
        padding: str = "mirror",
    ) -> DeblurMethod:
        def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
            return red(y, psf, kind, lam, sigma, denoiser_sigma, iterations, denoiser, padding)  # type: ignore[arg-type]

        return method

    return factory


METHODS.register("red-fp")(_red_factory("fixed-point"))
METHODS.register("red-sd")(_red_factory("steepest-descent"))


@METHODS.register("gwis")
def _gwis(
    sigma: float | None = None,
    threshold: float = EDGE_THRESHOLD,
    iterations: int = WARP_ITERATIONS,
) -> DeblurMethod:
    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        check_observation(y)
        kernel = as_psf_tensor(psf, y)
        check_observation(y, tuple(kernel.shape))
        level = sigma if sigma is not None else GWIS_PER_PSF_RADIUS * effective_radius(kernel[0, 0])
        return gwis(y, min(max(level, 0.5), MAX_SIGMA), threshold, iterations)

    return method


@METHODS.register("gwis-blind")
def _gwis_blind(
    threshold: float = EDGE_THRESHOLD,
    iterations: int = WARP_ITERATIONS,
    estimator: str = DEFAULT_ESTIMATOR,
) -> DeblurMethod:
    if estimator not in GWIS_PER_RADIUS:
        known = ", ".join(GWIS_PER_RADIUS)
        raise DefocusError(f"gwis-blind: unknown blur-map estimator {estimator!r} (known: {known})")
    per_radius = GWIS_PER_RADIUS[estimator]

    def method(y: torch.Tensor, psf: Any) -> torch.Tensor:
        check_observation(y)
        estimate = estimate_blur_map(y, estimator)
        sigma = (per_radius * estimate.radius).clamp(0.5, MAX_SIGMA)
        # in focus (r <= 1 px) GWIS would only thin sharp texture: fade it in up to 2 px
        strength = (estimate.radius - GWIS_FADE_IN[0]) / (GWIS_FADE_IN[1] - GWIS_FADE_IN[0])
        weight = strength.clamp(0, 1).to(y.dtype)
        return gwis(y, sigma.to(y.dtype), threshold, iterations, weight)

    return method


def create_method(name: str, **kwargs: Any) -> DeblurMethod:
    """Build the deblurring method registered as ``name`` (see the module table).

    Args:
        name: One of :func:`list_methods`.
        **kwargs: Parameters overriding the method's defaults.

    Returns:
        A callable ``method(y, psf) -> x``; shapes ``(B, C, H, W) -> (B, C, H, W)``.

    Raises:
        DefocusError: If the name is unknown.
    """
    return METHODS.create(name, **kwargs)


def list_methods() -> list[str]:
    """Names of the registered classical deblurring methods."""
    return METHODS.names()
