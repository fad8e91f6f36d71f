"""Training pairs made on the fly: sharp photos blurred with random defocus PSFs and noise.

Speed comes from cropping *before* blurring: a crop is taken with a margin of the PSF's
half size on every side (read from the real image, or from its reflect-101 extension
at the image border) and only the inner window is convolved. The result is exactly the
corresponding window of the whole image blurred with ``padding="reflect"``, at the cost
of a small crop.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from defocus.color import to_luma
from defocus.data.paired import random_crop_box
from defocus.data.seeding import Item, item_rng, split_item, torch_seed
from defocus.data.store import ImageStore, dihedral, take_region, to_float
from defocus.degrade import add_noise, convolve_valid
from defocus.degrade.kernels import PSF_KINDS, box_kernel, disk_kernel, gaussian_kernel, ring_kernel
from defocus.errors import DefocusError
from defocus.io import list_images
from defocus.registry import Registry


@dataclass
class DegradationConfig:
    """Ranges the random degradation of each pair is drawn from.

    The PSF kind is drawn from ``kinds`` (weights ``kind_weights``, uniform when
    empty), its size uniformly from that kind's range, the noise σ uniformly from
    ``noise_sigma``; with ``poisson_peak`` set, shot noise with a photon count drawn
    log-uniformly from that range is added first. Equal ends make a value fixed.

    Attributes:
        kinds: PSF kinds among ``disk``, ``gaussian``, ``ring``, ``box``.
        kind_weights: Relative probabilities of ``kinds`` (empty: equal).
        disk_radius: Disk radius range in pixels.
        ring_radius: Ring outer radius range in pixels.
        gaussian_sigma: Gaussian σ range in pixels.
        box_size: Box side range (integers, inclusive).
        noise_sigma: Gaussian noise std range, ``[0, 1]`` units.
        poisson_peak: Photon count at white (range) for shot noise, or ``None``.
        clip: Clip the noisy blurry image to ``[0, 1]``.
    """

    kinds: tuple[str, ...] = ("disk",)
    kind_weights: tuple[float, ...] = ()
    disk_radius: tuple[float, float] = (1.0, 5.0)
    ring_radius: tuple[float, float] = (2.0, 6.0)
    gaussian_sigma: tuple[float, float] = (0.5, 2.5)
    box_size: tuple[int, int] = (3, 9)
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    poisson_peak: tuple[float, float] | None = None
    clip: bool = True

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in PSF_KINDS]
        if not self.kinds or unknown:
            raise DefocusError(f"PSF kinds must be among {', '.join(PSF_KINDS)}; got {self.kinds}")
        if self.kind_weights and len(self.kind_weights) != len(self.kinds):
            raise DefocusError("kind_weights needs one weight per PSF kind")
        for name in ("disk_radius", "ring_radius", "gaussian_sigma", "box_size", "noise_sigma"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise DefocusError(f"{name} must be a range 0 <= low <= high, got {(lo, hi)}")
        if self.box_size[0] < 1:
            raise DefocusError("box_size must start at 1 or more")
        if self.poisson_peak is not None and not 0 < self.poisson_peak[0] <= self.poisson_peak[1]:
            raise DefocusError(f"poisson_peak must be a positive range, got {self.poisson_peak}")

    @classmethod
    def fixed(cls, psf: str, noise_sigma: float = 0.0) -> DegradationConfig:
        """A degradation without randomness: ``psf`` as ``"disk:3"``, ``"ring:4"``,
        ``"gaussian:1.5"`` or ``"box:5"``, and a fixed noise σ.

        Raises:
            DefocusError: If ``psf`` is not of that form.
        """  # noqa: D205
        kind, _, value = psf.partition(":")
        fields = {"disk": "disk_radius", "ring": "ring_radius", "gaussian": "gaussian_sigma"}
        try:
            size = float(value)
        except ValueError:
            size = -1.0
        if kind not in PSF_KINDS or size < 0 or (kind == "box" and not size.is_integer()):
            raise DefocusError(
                f"invalid fixed PSF {psf!r}: expected disk:R, ring:R, gaussian:S or box:N"
            )
        ranges = {fields.get(kind, "box_size"): (size, size) if kind != "box" else (int(size),) * 2}
        return cls(kinds=(kind,), noise_sigma=(noise_sigma, noise_sigma), **ranges)

    def sample(self, rng: np.random.Generator) -> dict[str, float | str | None]:
        """Draw one degradation: ``{"kind", "size", "noise_sigma", "poisson_peak"}``."""
        if len(self.kinds) == 1:
            kind = self.kinds[0]
        else:
            weights = np.asarray(self.kind_weights or [1.0] * len(self.kinds), dtype=np.float64)
            kind = self.kinds[int(rng.choice(len(self.kinds), p=weights / weights.sum()))]
        if kind == "box":
            size: float = int(rng.integers(self.box_size[0], self.box_size[1] + 1))
        else:
            ranges = {"disk": self.disk_radius, "ring": self.ring_radius}
            size = float(rng.uniform(*ranges.get(kind, self.gaussian_sigma)))
        peak = None
        if self.poisson_peak is not None:
            lo, hi = np.log(self.poisson_peak[0]), np.log(self.poisson_peak[1])
            peak = float(np.exp(rng.uniform(lo, hi)))
        return {
            "kind": kind,
            "size": size,
            "noise_sigma": float(rng.uniform(*self.noise_sigma)),
            "poisson_peak": peak,
        }


@functools.lru_cache(maxsize=512)
def _kernel(kind: str, size: float) -> torch.Tensor:
    builders = {"disk": disk_kernel, "ring": ring_kernel, "gaussian": gaussian_kernel}
    if kind == "box":
        return box_kernel(int(size), dtype=torch.float32)
    return builders[kind](size, dtype=torch.float32)


DEGRADATIONS: Registry[DegradationConfig] = Registry("degradation preset")


@DEGRADATIONS.register("defocus")
def _defocus() -> DegradationConfig:
    """Training mix: mostly disks (r 1–5), some rings and Gaussians, noise σ ≤ 0.02."""
    return DegradationConfig(kinds=("disk", "ring", "gaussian"), kind_weights=(0.6, 0.2, 0.2))


@DEGRADATIONS.register("mmsp_box")
def _mmsp_box() -> DegradationConfig:
    """MMSP 2024 synthetic protocol: 5x5 box blur, reflect-101 border, no noise (use luma)."""
    return DegradationConfig(kinds=("box",), box_size=(5, 5), noise_sigma=(0.0, 0.0))


for _radius in range(1, 6):
    DEGRADATIONS.register(f"defocus_r{_radius}")(
        functools.partial(DegradationConfig.fixed, f"disk:{_radius}", 0.01)
    )


def degradation_preset(name: str) -> DegradationConfig:
    """A named :class:`DegradationConfig`: ``defocus`` (training mix), ``mmsp_box``, or
    ``defocus_r1`` … ``defocus_r5`` (the project's evaluation protocol: disk of that
    radius, noise σ = 0.01). Other fixed degradations: :meth:`DegradationConfig.fixed`.
    """  # noqa: D205
    return DEGRADATIONS.create(name)


def resolve_sources(
    images: str | Path | Sequence[str | Path | torch.Tensor],
) -> list[Path | torch.Tensor]:
    """The image files of a folder, or a list of files and ``(C, H, W)`` tensors, checked.

    Raises:
        DefocusError: For a tensor that is not ``(C, H, W)`` with 1 or 3 channels, or
            an empty list.
    """
    if isinstance(images, str | Path):
        return list_images(images)
    resolved: list[Path | torch.Tensor] = []
    for item in images:
        if isinstance(item, torch.Tensor):
            if item.ndim != 3 or item.shape[0] not in (1, 3):
                raise DefocusError(f"expected (C, H, W) images, got shape {tuple(item.shape)}")
            resolved.append(item)
        else:
            resolved.append(Path(item))
    if not resolved:
        raise DefocusError("no training images given")
    return resolved


class SyntheticDefocusDataset(Dataset):
    """(blurry, sharp) pairs synthesised from sharp images with random degradations.

    Item ``i`` of epoch ``e`` uses image ``i``; its crop, flip/rotation, PSF and noise
    come from a generator seeded by ``(seed, e, i)`` alone (see
    :mod:`defocus.data.seeding`), so the same item is identical in any worker, rank or
    run. Index with ``(epoch, index)`` pairs (as the training sampler does) or with plain
    integers (then :attr:`epoch`, settable with :meth:`set_epoch`, is used; with
    ``persistent_workers`` set the epoch through the index instead, since workers keep
    their own copy of the dataset).

    The blurry image is the sharp one convolved with the PSF (reflect-101 extension at
    image borders), plus noise; luma, when asked, is taken before blurring (both are
    linear, so this equals blurring then taking luma).

    Args:
        images: A folder, or a list of image files or ``(C, H, W)`` tensors in ``[0, 1]``.
        degradation: A :class:`DegradationConfig` or a preset name
            (see :func:`degradation_preset`).
        crop: Side of the square crops; ``None`` for whole images (evaluation).
        augment: Random flips and quarter turns of the sharp crop.
        luma: Return BT.601 luma (1 channel).
        seed: Base seed.
        cache: Keep decoded images in memory (8/16-bit codes).

    Shape:
        Items: ``(C, crop, crop)`` each.
    """

    def __init__(
        self,
        images: str | Path | Sequence[str | Path | torch.Tensor],
        degradation: DegradationConfig | str = "defocus",
        *,
        crop: int | None = 128,
        augment: bool = True,
        luma: bool = False,
        seed: int = 0,
        cache: bool = True,
    ) -> None:
        if crop is not None and crop < 1:
            raise ValueError(f"crop must be positive, got {crop}")
        if isinstance(degradation, str):
            degradation = degradation_preset(degradation)
        self.store = ImageStore(resolve_sources(images), cache)
        self.degradation = degradation
        self.crop, self.augment, self.luma, self.seed = crop, augment, luma, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for plain integer indices."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.store)

    def sample_params(self, item: Item) -> dict[str, float | str | None]:
        """The degradation drawn for ``item`` (what :meth:`__getitem__` applies)."""
        epoch, index = split_item(item, self.epoch)
        return self.degradation.sample(item_rng(self.seed, epoch, index % len(self)))

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, index = split_item(item, self.epoch)
        index %= len(self)
        rng = item_rng(self.seed, epoch, index)
        params = self.degradation.sample(rng)
        psf = _kernel(str(params["kind"]), float(params["size"]))  # type: ignore[arg-type]
        kh, kw = psf.shape
        margin = max(kh, kw) // 2  # symmetric, so flips/rotations keep it centred
        arr = self.store.array(index)
        if self.crop is None:
            top, left = 0, 0
            height, width = arr.shape[1:]
        else:
            top, left = random_crop_box(rng, arr.shape[1:], self.crop, self.store.name(index))
            height = width = self.crop
        region = take_region(
            arr, top - margin, left - margin, height + 2 * margin, width + 2 * margin
        )
        x = to_float(region)
        if self.luma:
            x = to_luma(x[None])[0]
        if self.augment:
            x = dihedral(x, int(rng.integers(0, 8)))
        inner_h, inner_w = x.shape[1] - 2 * margin, x.shape[2] - 2 * margin
        rows = slice(margin - (kh - 1 - kh // 2), margin + inner_h + kh // 2)
        cols = slice(margin - (kw - 1 - kw // 2), margin + inner_w + kw // 2)
        blurry = convolve_valid(x[None, :, rows, cols], psf, method="opencv")
        sigma, peak = float(params["noise_sigma"]), params["poisson_peak"]  # type: ignore[arg-type]
        if sigma > 0 or peak is not None:
            generator = torch.Generator().manual_seed(torch_seed(rng))
            blurry = add_noise(blurry, sigma, generator, peak, clip=self.degradation.clip)
        sharp = x[:, margin : margin + inner_h, margin : margin + inner_w]
        return blurry[0], sharp.contiguous()


def mmsp_synthetic_dataset(
    images: str | Path | Sequence[str | Path | torch.Tensor], **options: object
) -> SyntheticDefocusDataset:
    """The MMSP 2024 synthetic protocol: luma, 5x5 box blur, reflect-101, no noise.

    Defaults to whole images without augmentation (evaluation); pass ``crop=128,
    augment=True`` for training.
    """
    settings: dict[str, object] = {"crop": None, "augment": False, "luma": True}
    settings.update(options)
    return SyntheticDefocusDataset(images, "mmsp_box", **settings)  # type: ignore[arg-type]
