"""The learned estimator: a blur-map network run over an image pyramid, tile by tile.

A network reads radii reliably up to about :data:`RELIABLE_RADIUS` of its own pixels
and was trained on photos of CUHK's scale (long side about 640 px). So the image is
run at scales ``1, 1/4, 1/16, ...`` (down to a short side of :data:`MIN_SIDE`): each
scale's radius, times the inverse scale, is a full-resolution radius, and each pixel
takes it from the finest scale at which that radius is still within the reliable
range (cross-faded over 4 px). The defocus probability is read at the power-of-two
scale whose long side is closest to :data:`DETECTION_SIDE` (one more small pass when
the pyramid lacks it), where "out of focus" means what it
meant in the masks the network learnt from. Every pass runs on overlapping tiles
(:func:`defocus.runtime.tiling.tiled_apply`), so memory is bounded for any image size.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from defocus.blurmap.gradient_ratio import BlurMap
from defocus.blurmap.network import (
    BLUR_MAP_NETWORKS,
    CALIBRATION_KEY,
    LOGIT,
    BlurMapNetwork,
    to_blur_map,
)
from defocus.checks import check_batch
from defocus.color import to_luma
from defocus.errors import DefocusError
from defocus.io.weights import (
    ARCHITECTURE_KEY,
    IN_CHANNELS_KEY,
    OPTIONS_KEY,
    WEIGHTS_DIR,
    load_weights,
    weights_metadata,
)
from defocus.runtime.precision import autocast_dtype, network_precision
from defocus.runtime.tiling import tiled_apply

SHIPPED_ESTIMATOR = "blurmap-unet-v1"
"""Name of the shipped blur-map weights (model card: ``docs/blur-maps.md``)."""
SHIPPED_DETECTOR = "defocus-detector-v2"
"""Name of the shipped defocus detector: the estimator fine-tuned on whole real photos,
with ImageNet features (``scripts/train_defocus_detector.py``), whose probability the
``learned`` estimator uses; ``defocus-detector-v1`` (without them) stays available."""
SHIPPED_FILES = {
    SHIPPED_ESTIMATOR: "blurmap_unet_v1.safetensors",
    SHIPPED_DETECTOR: "defocus_detector_v2.safetensors",
    "defocus-detector-v1": "defocus_detector_v1.safetensors",
    "gwis-cnn-v1": "gwis_cnn_v1.safetensors",
}
"""Shipped blur-map weights: the project's estimator, its detector and the seed's CNN
(``scripts/train_gwis_cnn.py``), by name → file in the package's weights folder."""
DETECTION_SIDE_KEY = "detection_side"
"""Safetensors metadata key of a detector's :attr:`BlurMapNetwork.detection_side`."""
RELIABLE_RADIUS = 12.0
"""Radius (in a scale's own pixels) up to which that scale's estimate is used."""
FADE = 4.0
"""Width (pixels of the scale) of the cross-fade between two scales' estimates."""
MIN_SIDE = 96
"""Smallest short side of a pyramid level."""
PYRAMID_STEP = 4
"""Ratio of neighbouring pyramid scales: a radius beyond the reliable range of one
level (12 px) is 3 px at the next, still read to about 0.5 px, and the coarser levels
cost 1/16 of the finer one (the whole pyramid 1.07 full-resolution passes)."""
DETECTION_SIDE = BlurMapNetwork.detection_side
"""Long side (pixels) at which the defocus probability is read."""
TILE, OVERLAP, CONTEXT = 1536, 32, 96
"""Tile side, blending overlap and receptive-field context of each network pass."""


def _weights_path(weights: str | Path) -> Path:
    shipped = SHIPPED_FILES.get(str(weights))
    path = WEIGHTS_DIR / shipped if shipped is not None else Path(weights)
    if not path.is_file():
        raise DefocusError(f"{path}: blur-map weights not found")
    return path


@functools.lru_cache(maxsize=2)
def _load(path: Path, modified_ns: int) -> BlurMapNetwork:
    metadata = weights_metadata(path)
    architecture = metadata.get(ARCHITECTURE_KEY, "")
    if architecture not in BLUR_MAP_NETWORKS:
        raise DefocusError(
            f"{path}: not blur-map weights (architecture {architecture or 'unnamed'!r}; "
            f"known: {', '.join(BLUR_MAP_NETWORKS.names())})"
        )
    options = json.loads(metadata.get(OPTIONS_KEY, "{}"))
    network = BLUR_MAP_NETWORKS.create(
        architecture, in_channels=int(metadata.get(IN_CHANNELS_KEY, "3")), **options
    )
    load_weights(network, path)
    if CALIBRATION_KEY in metadata:
        try:
            scale, shift = (float(v) for v in metadata[CALIBRATION_KEY].split(","))
        except ValueError:
            raise DefocusError(f"{path}: bad {CALIBRATION_KEY} metadata") from None
        network.calibration = (scale, shift)
    if DETECTION_SIDE_KEY in metadata:
        try:
            network.detection_side = int(metadata[DETECTION_SIDE_KEY])
        except ValueError:
            raise DefocusError(f"{path}: bad {DETECTION_SIDE_KEY} metadata") from None
    # channels-last convolutions run 2-2.5x faster under bfloat16 on CPUs (measured:
    # BENCHMARKS.md, blur maps)
    return network.eval().to(memory_format=torch.channels_last)


def load_estimator(weights: str | Path = SHIPPED_ESTIMATOR) -> BlurMapNetwork:
    """The blur-map network of a weights file (read once per file version).

    Args:
        weights: A name of :data:`SHIPPED_FILES` or a safetensors file written by the trainer
            (``[model] task = "blur-map"``), whose metadata names its architecture.

    Raises:
        DefocusError: If the file is missing, unreadable or not blur-map weights.
    """
    path = _weights_path(weights).resolve()
    return _load(path, path.stat().st_mtime_ns)


def pyramid_scales(height: int, width: int) -> list[float]:
    """Scales ``1, 1/4, 1/16, ...`` down to a short side of :data:`MIN_SIDE` (at least ``[1]``)."""
    scales = [1.0]
    while min(height, width) * scales[-1] / PYRAMID_STEP >= MIN_SIDE:
        scales.append(scales[-1] / PYRAMID_STEP)
    return scales


def detection_scale(height: int, width: int) -> float:
    """The power of 1/2 (at most 1) bringing the long side closest to :data:`DETECTION_SIDE`."""
    steps = max(0, round(math.log2(max(height, width) / DETECTION_SIDE)))
    return 0.5**steps


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


DETECTION_ZOOMS = (0.75, 1.0, 1.33)
"""Sizes, relative to the detection side, at which :func:`detect_defocus` reads a photo
(chosen on CUHK 0351-0400 with ``defocus-detector-v2``: Fβ / MAE 0.935 / 0.102 at 1.0
alone, 0.937 / 0.100 with 0.85 and 1.2, 0.939 / 0.098 with 0.75 and 1.33)."""


def detect_defocus(
    image: torch.Tensor, detector: str | Path = SHIPPED_DETECTOR, precision: str = "auto"
) -> torch.Tensor:
    """Probability that each pixel is out of focus, read from the whole photo at once.

    The photo is resized so that its long side is the detector's ``detection_side``
    (the scale it was fine-tuned at, where one pass sees the whole photo) times each
    of :data:`DETECTION_ZOOMS`, and read as it is and mirrored left-right; the six
    defocus logits, resized back to the photo, are averaged. Cost is fixed whatever
    the photo's size: six small passes.

    Args:
        image: Images in ``[0, 1]``, grey or RGB.
        detector: A detector's weights (see :func:`load_estimator`).
        precision: As for :func:`learned_blur_map`.

    Shape:
        ``(B, C, H, W)`` -> ``(B, 1, H, W)``.
    """
    check_batch(image, finite=True)
    network = load_estimator(detector)
    device = next(network.parameters()).device
    x = _network_input(image.to(device=device, dtype=torch.float32), network)
    height, width = x.shape[-2:]
    total = x.new_zeros(x.shape[0], 1, height, width)
    for zoom in DETECTION_ZOOMS:
        scale = network.detection_side * zoom / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        both = _resize(x, size)
        both = torch.cat([both, both.flip(-1)]).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), network_precision(autocast_dtype(precision, device), device):
            plain, mirrored = network(both)[:, LOGIT : LOGIT + 1].float().chunk(2)
        total += _resize((plain + mirrored.flip(-1)) / 2, (height, width))
    return torch.sigmoid(total / len(DETECTION_ZOOMS)).to(image.dtype)


def _network_input(x: torch.Tensor, network: BlurMapNetwork) -> torch.Tensor:
    if x.shape[1] == network.in_channels:
        return x
    return x.expand(-1, network.in_channels, -1, -1) if x.shape[1] == 1 else to_luma(x)


def learned_blur_map(
    image: torch.Tensor,
    weights: str | Path = SHIPPED_ESTIMATOR,
    precision: str = "auto",
    pyramid: bool = True,
    detector: str | Path | None = None,
) -> BlurMap:
    """Blur radius (pixels) and defocus probability of every pixel, by a trained network.

    Args:
        image: Images in ``[0, 1]``, grey or RGB (grey is repeated for an RGB network).
        weights: The network (see :func:`load_estimator`).
        precision: ``"auto"`` (bfloat16 where the CPU has it), ``"fp32"``, ``"bf16"``
            or ``"fp16"``; the maps are combined in float32.
        pyramid: Run the scales of :func:`pyramid_scales`; ``False`` runs the network
            at full resolution only (for a network that knows a fixed range only).
        detector: Take the probability from this detector (:func:`detect_defocus`)
            instead of from ``weights`` at :func:`detection_scale`.

    Returns:
        The maps, in the image's dtype.

    Shape:
        ``(B, C, H, W)`` -> fields ``(B, 1, H, W)``.
    """
    check_batch(image, finite=True)
    network = load_estimator(weights)
    device = next(network.parameters()).device
    x = _network_input(image.to(device=device, dtype=torch.float32), network)
    height, width = x.shape[-2:]
    dtype = autocast_dtype(precision, device)
    scales = pyramid_scales(height, width) if pyramid else [1.0]
    radius: torch.Tensor | None = None
    if detector is not None:  # no pass of this network for the probability
        detection = None
        probability = detect_defocus(image, detector, precision)
    else:
        detection = detection_scale(height, width) if pyramid else 1.0
        probability = torch.zeros(0)
    passes = set(scales) if detection is None else {*scales, detection}
    with torch.no_grad():
        for scale in sorted(passes):  # coarse to fine
            size = (max(1, round(height * scale)), max(1, round(width * scale)))
            with network_precision(dtype, device):
                raw = tiled_apply(
                    lambda t: network(t.contiguous(memory_format=torch.channels_last)).float(),
                    _resize(x, size),
                    TILE,
                    OVERLAP,
                    network.multiple,
                    context=CONTEXT,
                )
            level = to_blur_map(raw, 1 / scale)
            if scale == detection:
                probability = _resize(level.probability, (height, width)).clamp(0, 1)
            if scale not in scales:
                continue
            level_radius = _resize(level.radius, (height, width))
            if radius is None:
                radius = level_radius
            else:  # the finer level where the radius is within its reliable range
                trust = ((RELIABLE_RADIUS - radius * scale) / FADE + 0.5).clamp(0, 1)
                radius = trust * level_radius + (1 - trust) * radius
    assert radius is not None
    return BlurMap(radius.clamp_min(0).to(image.dtype), probability.to(image.dtype))
