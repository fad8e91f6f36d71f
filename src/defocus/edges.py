"""Image gradients and edge points, shared by GWIS and the blur-map estimators."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EDGE_THRESHOLD = 0.02
"""Smallest gradient magnitude (per pixel, ``[0, 1]`` units) of an edge point."""


def sobel_gradient(luma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel derivatives (per pixel) with replicated borders, ``(B, 1, H, W)`` each."""
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
    kernel = sobel.to(luma)
    gx = F.conv2d(padded, kernel[None, None])
    gy = F.conv2d(padded, kernel.T.contiguous()[None, None])
    return gx, gy


def sample_at(x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``x`` at pixel coordinates ``coords`` ``(B, H, W, 2)`` (x, y)."""
    height, width = x.shape[-2:]
    grid = torch.stack(
        [2 * coords[..., 0] / max(width - 1, 1) - 1, 2 * coords[..., 1] / max(height - 1, 1) - 1],
        dim=-1,
    )
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def pixel_grid(luma: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates ``(x, y)`` of every pixel, ``(B, H, W, 2)``."""
    batch, _, height, width = luma.shape
    ys = torch.arange(height, dtype=luma.dtype, device=luma.device)
    xs = torch.arange(width, dtype=luma.dtype, device=luma.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).expand(batch, height, width, 2)


def edge_points(
    luma: torch.Tensor, threshold: float = EDGE_THRESHOLD
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Edge points (NMS of the gradient magnitude along the gradient) and their normals.

    Returns:
        ``(edges, magnitude, nx, ny)``: a boolean edge mask, the gradient magnitude and
        the unit normal's components.

    Shape:
        ``(B, 1, H, W)`` -> four ``(B, 1, H, W)`` tensors.
    """
    gx, gy = sobel_gradient(luma)
    magnitude = torch.sqrt(gx**2 + gy**2 + 1e-20)
    nx, ny = gx / magnitude, gy / magnitude
    grid = pixel_grid(luma)
    step = torch.cat([nx, ny], dim=1).permute(0, 2, 3, 1)
    ahead, behind = sample_at(magnitude, grid + step), sample_at(magnitude, grid - step)
    edges = (magnitude >= ahead) & (magnitude > behind) & (magnitude > threshold)
    return edges, magnitude, nx, ny
