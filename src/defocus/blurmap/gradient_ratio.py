"""A classical per-pixel defocus estimate: the gradient ratio at edges, spread edge-aware.

Zhuo & Sim (2011): re-blurring an edge blurred by a Gaussian of σ with a Gaussian of
σ₀ lowers its gradient maximum by ``R = sqrt(σ² + σ₀²) / σ``, so at an edge
``σ = σ₀ / sqrt(R² - 1)``. Here ``R`` is averaged over two re-blur scales at the
edge points of :func:`defocus.edges.edge_points`, converted to a disk radius
(``r = 2σ``, the disk of the same second moment), and spread to every pixel by
normalised convolutions weighted by edge strength at three scales (a pixel takes the
blur of the edges around it; far from any edge, of the edges farther away). The
defocus probability is a logistic function of the radius.
This is a baseline: it knows blur only where there are edges and assumes they are
isolated step edges (the Sobel gradient itself reads a perfect step as r ≈ 0.8 px, and
dense texture under strong blur reads low), hence ``in_focus_radius = 1.5``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from defocus.checks import check_batch
from defocus.color import to_luma
from defocus.degrade import blur, gaussian_kernel
from defocus.edges import edge_points, sobel_gradient

REBLUR_SIGMAS = (1.0, 2.0)
"""Gaussian re-blur scales σ₀ whose estimates are averaged."""
SPREADS = ((8.0, 1.0), (32.0, 0.1), (128.0, 0.01))
"""``(σ, weight)`` of the normalised convolutions that spread edge estimates: near
edges the finest dominates, far from any edge the coarser ones fill in."""
MAX_RADIUS = 24.0
"""Largest radius reported (pixels)."""


@dataclass
class BlurMap:
    """Per-pixel defocus of images.

    Attributes:
        radius: Estimated blur radius in pixels, ``(B, 1, H, W)``.
        probability: Probability that the pixel is out of focus, ``(B, 1, H, W)``.
    """

    radius: torch.Tensor
    probability: torch.Tensor


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return blur(x, gaussian_kernel(sigma), "reflect-101")


def gradient_ratio_blur_map(
    image: torch.Tensor,
    threshold: float = 0.02,
    in_focus_radius: float = 1.5,
    softness: float = 0.5,
) -> BlurMap:
    """Estimate the blur radius of every pixel and the probability that it is defocused.

    Args:
        image: Images in ``[0, 1]`` (grey or RGB; estimated on luma).
        threshold: Edge threshold (gradient magnitude per pixel).
        in_focus_radius: Radius (pixels) at which the probability is 0.5.
        softness: Width (pixels) of the logistic transition.

    Returns:
        The radius and probability maps.

    Shape:
        ``(B, C, H, W)`` -> fields ``(B, 1, H, W)``.
    """
    check_batch(image, finite=True)
    luma = (image if image.shape[1] == 1 else to_luma(image)).double()
    edges, magnitude, _, _ = edge_points(luma, threshold)
    sigmas = []
    for sigma0 in REBLUR_SIGMAS:
        gx, gy = sobel_gradient(_gaussian(luma, sigma0))
        ratio = magnitude / torch.sqrt(gx**2 + gy**2).clamp_min(1e-12)
        sigmas.append(sigma0 / torch.sqrt((ratio**2 - 1).clamp_min(1e-4)))
    radius_at_edges = (2 * torch.stack(sigmas).mean(dim=0)).clamp(0, MAX_RADIUS)
    weight = (magnitude * edges).double()
    spread = sum(c * _gaussian(weight * radius_at_edges, s) for s, c in SPREADS)
    total = sum(c * _gaussian(weight, s) for s, c in SPREADS)
    radius = torch.where(total > 1e-12, spread / total.clamp_min(1e-12), torch.zeros_like(total))
    probability = torch.sigmoid((radius - in_focus_radius) / softness)
    return BlurMap(radius.to(image.dtype), probability.to(image.dtype))
