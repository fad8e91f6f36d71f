"""Deblur an image of any kind and size with a trained network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from defocus.color import rgb_to_ycbcr, to_luma, ycbcr_to_rgb
from defocus.devices import resolve_device
from defocus.errors import DefocusError
from defocus.infer.adapt import Adaptation, adapt_deblurrer, reblur_module_for
from defocus.infer.adapters import unpack_image
from defocus.infer.fusion import fold_batchnorm
from defocus.infer.loading import shared_model
from defocus.models.protocol import (  # noqa: F401 (DEFAULT_MULTIPLE: re-exported)
    DEFAULT_MULTIPLE,
    Deblurrer,
    TwoStageDeblurrer,
    as_deblurrer,
)
from defocus.runtime.memory import release_free_memory
from defocus.runtime.precision import Precision, autocast_dtype, network_precision
from defocus.runtime.tiling import tiled_apply

ImageLike = TypeVar("ImageLike", np.ndarray, Image.Image, torch.Tensor)
Tune = Callable[[Deblurrer, torch.Tensor], Deblurrer]
"""``tune(model, source) -> model``: test-time adaptation on what the tiled stage reads."""
Recolour = Callable[[torch.Tensor, slice], torch.Tensor]
"""``recolour(out, rows)``: the rows ``rows`` of a model's output in the image's colours."""

AUTO_TILE = 384
"""Tile side used when ``tile=None`` and the image has more than :data:`AUTO_TILE_PIXELS`."""
AUTO_TILE_PIXELS = 1024 * 1024
"""Largest image (in pixels) that ``tile=None`` processes whole."""
MIN_SIDE = 2
"""Smallest image side accepted: a 1-pixel image has no neighbourhood to deblur."""
OUTPUT_BAND = 256
"""Rows converted back to the image's colours at a time by :func:`restore_two_stage`."""


def auto_tile(height: int, width: int, tile: int | None) -> int | None:
    """Tile side to use: ``tile`` itself, or for ``None`` the size-based default.

    ``None`` means: whole image up to :data:`AUTO_TILE_PIXELS` pixels, tiles of
    :data:`AUTO_TILE` beyond. ``0`` forces the whole image whatever its size.
    """
    if tile is None:
        return AUTO_TILE if height * width > AUTO_TILE_PIXELS else None
    return tile or None


def model_input(model: Deblurrer, x: torch.Tensor) -> torch.Tensor:
    """What ``model`` sees of grey or RGB images: Y for luma models, RGB for RGB models.

    Shape:
        ``(N, c, h, w) -> (N, C, h, w)``, ``c`` in {1, 3} and ``C`` the model's channels.
    """
    channels = model.in_channels
    if channels == 1 and x.shape[1] == 3:
        return rgb_to_ycbcr(x)[:, :1].clone()  # a copy: a view would keep Cb and Cr alive
    if channels == 3 and x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    return x


def model_output(model: Deblurrer, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Turn ``model``'s output for images ``x`` back into ``x``'s channels.

    A luma model's Y is recombined with the chroma of RGB input; an RGB model's output
    for grey input is reduced to its luma.

    Shape:
        ``out (N, C, h, w)``, ``x (N, c, h, w) -> (N, c, h, w)``.
    """
    channels = model.in_channels
    if channels == 1 and x.shape[1] == 3:
        return ycbcr_to_rgb(torch.cat([out, rgb_to_ycbcr(x)[:, 1:]], dim=1))
    if channels == 3 and x.shape[1] == 1:
        return to_luma(out)
    return out


def colour_restorer(
    model: Deblurrer, device: torch.device, home: torch.device, half: torch.dtype | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap ``model`` as a function on grey or RGB tiles that handles colour and devices.

    A 1-channel (luma) model restores Y of RGB input while Cb and Cr are kept; a
    3-channel model given grey input sees it replicated to RGB and returns the luma of
    its output (:func:`model_input`, :func:`model_output`). Tiles go to ``device`` (in
    the model's dtype), run under autocast to ``half`` when given (see
    :mod:`defocus.runtime.precision`) and come back to ``home`` as float32.

    Shape:
        ``(N, c, h, w) -> (N, c, h, w)`` with ``c`` in {1, 3}.
    """
    dtype = next(model.parameters(), torch.empty(0)).dtype

    def restore(tile: torch.Tensor) -> torch.Tensor:
        x = tile.to(device=device, dtype=dtype)
        with network_precision(half, device):
            inputs = model_input(model, x)
            if half is not None:  # channels-last: 2-4x faster half-precision convolutions
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            out = model(inputs).to(dtype).contiguous()
        out = model_output(model, out, x)
        return out.to(device=home, dtype=torch.float32)

    return restore


def split_colour(model: Deblurrer, x: torch.Tensor, compact: bool) -> tuple[torch.Tensor, Recolour]:
    """What ``model`` sees of images ``x``, and how to turn its output back into ``x``'s colours.

    For a luma model on RGB images only the chroma is kept (as float16 when
    ``compact``: about 2e-4 of rounding, a third of the RGB image's memory), so the
    caller can release ``x`` itself; otherwise as :func:`model_input` and
    :func:`model_output`.

    Shape:
        ``x (N, c, H, W) -> (N, C, H, W)``; ``recolour(out (N, C, h, W), rows)`` ->
        ``(N, c, h, W)`` for the ``h`` rows ``rows``.
    """
    if model.in_channels == 1 and x.shape[1] == 3:
        ycc = rgb_to_ycbcr(x)
        inputs = ycc[:, :1].clone()  # copies: views would keep all of ``ycc`` alive
        chroma = ycc[:, 1:].to(torch.float16) if compact else ycc[:, 1:].clone()
        del ycc

        def recolour(out: torch.Tensor, rows: slice) -> torch.Tensor:
            return ycbcr_to_rgb(torch.cat([out, chroma[..., rows, :].to(out.dtype)], dim=1))

        return inputs, recolour

    def keep(out: torch.Tensor, rows: slice) -> torch.Tensor:
        return model_output(model, out, x[..., rows, :])

    return model_input(model, x), keep


def restore_two_stage(
    model: TwoStageDeblurrer,
    images: list[torch.Tensor],
    device: torch.device,
    tile: int | None,
    overlap: int,
    batch_size: int,
    half: torch.dtype | None = None,
    tune: Tune | None = None,
) -> torch.Tensor:
    """Restore one image with a network split into ``prepare`` (global) and ``fuse`` (local).

    ``prepare`` runs once on the whole image (e.g. WienerUNet's blur estimate and
    Wiener deconvolutions, which are global); only ``fuse`` is tiled, each tile reading
    ``model.context`` extra pixels of features around it. With tiles the features are
    stored as float16 (half the memory; about 1e-4 of rounding), and so is a luma
    model's chroma (:func:`split_colour`). ``fuse`` runs under autocast to ``half``
    when given; ``prepare`` always in full precision. With ``tune``, ``fuse`` is that
    of ``tune(model, features)`` (test-time adaptation).

    ``images`` is a one-element list holding the image. The image is taken out of it
    (the list is left empty), so that the caller need hold no reference and a luma
    model's RGB image is freed while the features exist.

    Shape:
        ``images[0] (1, c, H, W) -> (1, c, H, W)`` float32 on ``images[0]``'s device.
    """
    image = images.pop()
    shape, home = image.shape, image.device
    dtype = next(model.parameters()).dtype
    inputs, recolour = split_colour(model, image.to(device=device, dtype=dtype), tile is not None)
    del image
    features = model.prepare(inputs, dtype=None if tile is None else torch.float16)
    del inputs
    release_free_memory()  # the global stage's freed temporaries, before the tiles
    if tune is not None:
        model = tune(model, features)

    def fuse(tiles: torch.Tensor) -> torch.Tensor:
        with network_precision(half, device):
            return model.fuse(tiles).to(dtype)

    out = tiled_apply(fuse, features, tile, overlap, model.multiple, batch_size, model.context)
    del features
    restored = torch.empty(shape, dtype=torch.float32, device=home)
    for top in range(0, shape[-2], OUTPUT_BAND):  # colour in bands: bounded temporaries
        rows = slice(top, top + OUTPUT_BAND)
        restored[..., rows, :] = recolour(out[..., rows, :], rows)
    return restored


def deblur(
    image: ImageLike,
    model: str | Path | nn.Module = "default",
    tile: int | None = None,
    overlap: int = 32,
    device: str | torch.device = "auto",
    batch_size: int = 1,
    precision: Precision = "auto",
    adapt: Adaptation | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImageLike:
    """Remove defocus blur from one image (or a batch of tensors) with a network.

    Args:
        image: A numpy array ``(H, W)`` or ``(H, W, C)`` (uint8, uint16 or float in
            ``[0, 1]``), a PIL image, or a float tensor ``(C, H, W)`` / ``(B, C, H, W)``
            in ``[0, 1]``; ``C`` is 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
        model: ``"default"`` (the shipped default weights), the name of shipped
            weights, a path to a ``.safetensors`` file, or an ``nn.Module``. The
            network runs in eval mode on ``device`` (a module is switched to eval mode
            and, unless it has BatchNorm layers to fold into a copy, see
            :func:`~defocus.infer.fusion.fold_batchnorm`, moved to ``device``).
        tile: Tile side in pixels; ``None`` = whole image up to :data:`AUTO_TILE_PIXELS`
            pixels and :data:`AUTO_TILE` tiles beyond; ``0`` = always the whole image.
        overlap: Minimum overlap of neighbouring tiles in pixels.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"`` or a device.
        batch_size: Tiles per forward pass (larger helps on GPUs).
        precision: ``"auto"`` (bfloat16 autocast for two-stage networks such as the
            default model on CPUs with native bfloat16 units and on CUDA, float32
            elsewhere and for single-stage networks), ``"fp32"``, ``"bf16"`` or
            ``"fp16"``; see :mod:`defocus.runtime.precision`. Global stages (blur
            estimate, Wiener deconvolution) always run in full precision.
        adapt: Test-time adaptation (:mod:`defocus.infer.adapt`): each image is
            restored by a copy of the network first tuned on that image with the
            self-supervised reblurring loss; ``None`` restores with the network as is.
        progress: With ``adapt``, called with the number of adaptation steps done.

    Returns:
        The restored image, of the same kind as ``image``: same shape, same dtype
        (uint8 stays uint8, 16-bit stays 16-bit, PIL mode kept), same device for
        tensors, with colour values in ``[0, 1]`` and alpha copied unchanged.
        Colour images go through the luma channel for 1-channel models (chroma kept)
        or through RGB for 3-channel models.

    Shape:
        ``image`` as a tensor: :math:`(C, H, W)` or :math:`(B, C, H, W)`; output alike.

    Raises:
        DefocusError: For unsupported inputs, images smaller than
            :data:`MIN_SIDE` pixels per side, unusable models, devices or tile settings,
            or (``adapt``) no usable reblurring module.
    """
    colour, repack = unpack_image(image)
    height, width = colour.shape[-2:]
    if min(height, width) < MIN_SIDE:
        raise DefocusError(
            f"image is {width}x{height} pixels; deblurring needs at least "
            f"{MIN_SIDE}x{MIN_SIDE} pixels"
        )
    target = resolve_device(device)
    network = as_deblurrer(fold_batchnorm(shared_model(model))).to(target)
    two_stage = isinstance(network, TwoStageDeblurrer)
    half = autocast_dtype(precision, target, full_precision_output=two_stage)
    side = auto_tile(height, width, tile)
    tune: Tune | None = None
    if adapt is not None:
        reblur = reblur_module_for(adapt, model)

        def tune(net: Deblurrer, source: torch.Tensor) -> Deblurrer:
            return adapt_deblurrer(net, reblur, source, adapt, half, progress)

    restored = []
    pieces = list(colour.split(1))
    del colour  # held by ``pieces`` only: the two-stage path frees each as it goes
    # adaptation needs tensors autograd can save: no_grad instead of inference mode
    with torch.inference_mode() if tune is None else torch.no_grad():
        while pieces:
            if two_stage:
                held = [pieces.pop(0)]
                restored.append(
                    restore_two_stage(network, held, target, side, overlap, batch_size, half, tune)
                )
            else:
                one = pieces.pop(0)
                net = network
                if tune is not None:
                    dtype = next(network.parameters()).dtype
                    net = tune(network, model_input(network, one.to(target, dtype)))
                restore = colour_restorer(net, target, one.device, half)
                restored.append(
                    tiled_apply(restore, one, side, overlap, network.multiple, batch_size)
                )
                del one  # large images: free the input copy before building the output
    return repack(restored[0] if len(restored) == 1 else torch.cat(restored))
