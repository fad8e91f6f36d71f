"""Small procedurally drawn sharp scenes, so that smoke runs need no image files."""

from __future__ import annotations

import torch


def generated_scenes(count: int, size: int, channels: int, seed: int) -> list[torch.Tensor]:
    """Draw ``count`` sharp test scenes: a shaded background, boxes, discs and stripes.

    The shapes have hard edges and varied orientations, so a blurred copy has
    something to recover. Scene ``i`` depends only on ``(seed, i)``.

    Args:
        count: Number of scenes.
        size: Side of each square scene in pixels.
        channels: 1 (grey) or 3 (colour shapes).
        seed: Seed of the drawing.

    Returns:
        The scenes, values in ``[0, 1]``.

    Shape:
        - Each scene: :math:`(C, size, size)`.
    """
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    scenes = []
    for index in range(count):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + index)

        def uniform(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
            return low + (high - low) * torch.rand(shape, generator=generator)  # noqa: B023

        slope = uniform(2, low=-0.4, high=0.4)
        scene = (
            (
                uniform(channels, 1, 1, low=0.2, high=0.8)
                + slope[0] * (x - 0.5)
                + slope[1] * (y - 0.5)
            )
            .expand(channels, size, size)
            .clone()
        )
        for _ in range(6):
            colour = uniform(channels, 1, 1)
            centre = uniform(2, low=0.1, high=0.9)
            extent = uniform(2, low=0.05, high=0.3)
            kind = int(torch.randint(3, (1,), generator=generator))
            if kind == 0:
                mask = ((x - centre[0]).abs() < extent[0]) & ((y - centre[1]).abs() < extent[1])
            elif kind == 1:
                mask = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < extent[0] ** 2
            else:
                angle = uniform(1, high=torch.pi)
                phase = torch.cos(angle) * x + torch.sin(angle) * y
                inside = ((x - centre[0]).abs() < extent[0]) & ((y - centre[1]).abs() < extent[1])
                mask = inside & (torch.sin(phase * size / (2 + 4 * extent[1])) > 0)
            scene = torch.where(mask, colour, scene)
        scenes.append(scene.clamp(0, 1))
    return scenes
