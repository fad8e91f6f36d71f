"""Named test protocols: deterministic ``(name, blurry, sharp, psf)`` cases from test folders.

Every case is built from :class:`defocus.data.SyntheticDefocusDataset` (whole images,
luma Y, no augmentation), so blur and noise come from :mod:`defocus.degrade` exactly as
in training. Noise is drawn from a ``torch.Generator`` seeded by ``(protocol seed +
PSF index, image index)``: the same case always carries the same noise, whichever
method is evaluated on it and in whatever order.

Protocols (see ``../shared/data/README.md``):

- ``mmsp``: 5x5 box blur, OpenCV reflect-101 border, no noise (MMSP 2024 Table II).
- ``defocus``: anti-aliased disk PSF of radius 1-5 px, Gaussian noise σ = 0.01; the
  case ``group`` is ``"<dataset>/r<radius>"`` and ``radius`` holds the radius.
- ``ring`` and ``gaussian``: the secondary rows of the defocus protocol (ring radius
  2-6 px, Gaussian σ 0.5-2.5 px, σ_noise = 0.01).
- ``depth``: spatially varying defocus with known ground truth (σ_noise = 0.01,
  disks). Each image gives a *band* scene, six horizontal bands of radius 0 (sharp) to
  5 px from top to bottom (each pixel blurred by its band's disk, rendered by
  :func:`defocus.degrade.scene.ramp_defocus`), scored band by band (groups
  ``"<dataset>/band:r<radius>"``), and a *layered* scene: the next image of the
  dataset as a sharp foreground, cut out by a soft elliptical matte, over the image
  defocused by a disk of 2-5 px (:func:`defocus.degrade.scene.layered_defocus`;
  group ``"<dataset>/layered"``). A method restores each scene once; every case of it
  is scored on its own window of that result.
- ``lens``: the measured lens PSFs of :func:`defocus.degrade.lens_psf` (the shape
  cycling with the image) rescaled to effective radii 2, 4, 6 and 8 px,
  σ_noise = 0.01; groups ``"<dataset>/lens:<radius>"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import torch

from defocus.color import to_luma
from defocus.data import DegradationConfig, SyntheticDefocusDataset
from defocus.data.store import ImageStore, to_float
from defocus.data.synthetic import resolve_sources
from defocus.degrade import add_noise, blur, disk_kernel, parse_psf
from defocus.degrade.lens import LENS_SHAPES, lens_psf
from defocus.degrade.scene import Layer, elliptical_matte, layered_defocus, ramp_defocus
from defocus.errors import DefocusError
from defocus.registry import Registry

DATASETS = ("Kodak24", "CBSD68")
"""Test datasets of the protocols, in this order."""

"""Default folder holding one sub-folder per dataset (relative to the working folder)."""

NOISE_SIGMA = 0.01
"""Gaussian noise of the defocus protocols (σ in ``[0, 1]`` units)."""


@dataclass(frozen=True)
class Case:
    """One test image: the degraded input, the reference and the true PSF.

    Attributes:
        name: ``"<dataset>/<image stem>"`` (plus ``"@<psf>"`` when a protocol uses
            several PSFs per image).
        blurry: Degraded luma.
        sharp: Reference luma.
        psf: The blur kernel ``(h, w)`` (float64, sums to 1).
        group: What results are grouped by: the dataset (``mmsp``) or
            ``"<dataset>/<psf>"`` (defocus protocols).
        psf_spec: The kernel as text, e.g. ``"disk:3"``.
        radius: Disk/ring radius or Gaussian σ of the PSF in pixels (``None`` for box).
        window: ``(top, left, height, width)`` of the scene that this case scores
            (``None``: all of it). Cases of one scene share its ``blurry`` and
            ``sharp`` tensors; the scene is restored once and each case scored on its
            window (the ``depth`` protocol's bands); ``psf`` is then the PSF of the
            window's region.

    Shape:
        ``blurry`` and ``sharp``: :math:`(1, 1, H, W)`, float32 in ``[0, 1]``.
    """

    name: str
    blurry: torch.Tensor
    sharp: torch.Tensor
    psf: torch.Tensor
    group: str
    psf_spec: str
    radius: float | None = None
    window: tuple[int, int, int, int] | None = None

    def __iter__(self) -> Iterator[object]:
        """Unpack as ``name, blurry, sharp, psf``."""
        return iter((self.name, self.blurry, self.sharp, self.psf))


@dataclass(frozen=True)
class Protocol:
    """A test protocol: the PSFs applied to every image and the noise level.

    Attributes:
        name: Registered name.
        psfs: PSF specs (``"box:5"``, ``"disk:3"``, ...), one case per image and PSF.
        noise_sigma: Gaussian noise σ added after blurring.
        seed: Base seed of the noise (PSF ``k`` uses ``seed + k``).
        scene: ``"uniform"`` (one PSF over each image: ``psfs``), ``"depth"`` or
            ``"lens"`` (see the module docstring; ``psfs`` lists what the cases use).
    """

    name: str
    psfs: tuple[str, ...]
    noise_sigma: float
    seed: int = 0
    scene: str = "uniform"


PROTOCOLS: Registry[Protocol] = Registry("test protocol")


@PROTOCOLS.register("mmsp")
def _mmsp() -> Protocol:
    return Protocol("mmsp", ("box:5",), 0.0)


@PROTOCOLS.register("defocus")
def _defocus() -> Protocol:
    return Protocol("defocus", tuple(f"disk:{r}" for r in range(1, 6)), NOISE_SIGMA)


@PROTOCOLS.register("ring")
def _ring() -> Protocol:
    return Protocol("ring", tuple(f"ring:{r}" for r in range(2, 7, 2)), NOISE_SIGMA)


@PROTOCOLS.register("gaussian")
def _gaussian() -> Protocol:
    return Protocol("gaussian", ("gaussian:0.5", "gaussian:1.5", "gaussian:2.5"), NOISE_SIGMA)


BAND_RADII = (0, 1, 2, 3, 4, 5)
"""Disk radii of the ``depth`` protocol's bands, top to bottom."""
LENS_RADII = (2, 4, 6, 8)
"""Effective radii of the ``lens`` protocol."""


@PROTOCOLS.register("depth")
def _depth() -> Protocol:
    return Protocol(
        "depth", (*(f"band:r{r}" for r in BAND_RADII), "layered"), NOISE_SIGMA, scene="depth"
    )


@PROTOCOLS.register("lens")
def _lens() -> Protocol:
    return Protocol("lens", tuple(f"lens:{r}" for r in LENS_RADII), NOISE_SIGMA, scene="lens")


def list_protocols() -> list[str]:
    """Names of the registered test protocols."""
    return PROTOCOLS.names()


def _dataset_folders(root: Path, datasets: Sequence[str]) -> list[Path]:
    if not root.is_dir():
        raise DefocusError(
            f"{root}: test data folder not found (expected sub-folders {', '.join(datasets)}; "
            "pass --data ROOT)"
        )
    folders = [root / name for name in datasets]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise DefocusError(f"{', '.join(missing)}: test data folder not found")
    return folders


def load_cases(
    protocol: str | Protocol,
    root: str | Path,
    datasets: Sequence[str] = DATASETS,
    limit: int | None = None,
) -> list[Case]:
    """Build the cases of a protocol, dataset by dataset, then PSF by PSF, then image.

    Args:
        protocol: A name from :func:`list_protocols` or a :class:`Protocol`.
        root: Folder holding one sub-folder of images per dataset.
        datasets: Sub-folders of ``root`` to use.
        limit: Images per dataset (the first ones in name order); ``None`` for all.

    Returns:
        The cases; identical (bit for bit) on every call.

    Raises:
        DefocusError: Unknown protocol, missing folders, or unreadable images.
    """
    spec = PROTOCOLS.create(protocol) if isinstance(protocol, str) else protocol
    if spec.scene != "uniform":
        folders = _dataset_folders(Path(root), datasets)
        build = _depth_cases if spec.scene == "depth" else _lens_cases
        return [
            case
            for dataset, folder in zip(datasets, folders, strict=True)
            for case in build(spec, dataset, _luma_images(folder, limit))
        ]
    cases = []
    for dataset, folder in zip(datasets, _dataset_folders(Path(root), datasets), strict=True):
        for k, psf_spec in enumerate(spec.psfs):
            degradation = DegradationConfig.fixed(psf_spec, spec.noise_sigma)
            data = SyntheticDefocusDataset(
                folder, degradation, crop=None, augment=False, luma=True, seed=spec.seed + k
            )
            count = len(data) if limit is None else min(limit, len(data))
            kind, _, size = psf_spec.partition(":")
            several = len(spec.psfs) > 1
            for index in range(count):
                blurry, sharp = data[index]
                stem = Path(data.store.name(index)).stem
                cases.append(
                    Case(
                        name=f"{dataset}/{stem}" + (f"@{psf_spec}" if several else ""),
                        blurry=blurry[None],
                        sharp=sharp[None],
                        psf=parse_psf(psf_spec),
                        group=f"{dataset}/{psf_spec}" if several else dataset,
                        psf_spec=psf_spec,
                        radius=None if kind == "box" else float(size),
                    )
                )
    return cases


def _luma_images(folder: Path, limit: int | None) -> list[tuple[str, torch.Tensor]]:
    """``(stem, luma (1, 1, H, W) float32)`` of the first ``limit`` images of ``folder``."""
    store = ImageStore(resolve_sources(folder), cache=False)
    count = len(store) if limit is None else min(limit, len(store))
    return [
        (Path(store.name(i)).stem, to_luma(to_float(store.array(i))[None]).float())
        for i in range(count)
    ]


def _noisy(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return add_noise(x.double(), sigma, generator).float()


def _disk(radius: float) -> torch.Tensor:
    return disk_kernel(radius) if radius > 0 else torch.ones(1, 1, dtype=torch.float64)


def _depth_cases(
    spec: Protocol, dataset: str, images: list[tuple[str, torch.Tensor]]
) -> list[Case]:
    cases = []
    for index, (stem, sharp) in enumerate(images):
        height, width = sharp.shape[-2:]
        bounds = [round(height * k / len(BAND_RADII)) for k in range(len(BAND_RADII) + 1)]
        radius_map = torch.zeros_like(sharp, dtype=torch.float64)
        for radius, (top, bottom) in zip(BAND_RADII, pairwise(bounds), strict=True):
            radius_map[..., top:bottom, :] = radius
        bands = ramp_defocus(sharp.double(), radius_map, _disk, step=1.0)
        blurry = _noisy(bands, spec.noise_sigma, spec.seed * 7919 + 2 * index)
        for radius, (top, bottom) in zip(BAND_RADII, pairwise(bounds), strict=True):
            cases.append(
                Case(
                    name=f"{dataset}/{stem}@band:r{radius}",
                    blurry=blurry,
                    sharp=sharp,
                    psf=_disk(radius),
                    group=f"{dataset}/band:r{radius}",
                    psf_spec=f"band:r{radius}",
                    radius=float(radius),
                    window=(top, 0, bottom - top, width),
                )
            )
        # the next image, sharp, in front of this one defocused
        front = images[(index + 1) % len(images)][1]
        front = torch.nn.functional.interpolate(front, size=(height, width), mode="bilinear")
        alpha = elliptical_matte(height, width)
        background_radius = 2.0 + index % 4
        layer = Layer(front.double(), alpha.double(), 0.0)
        scene, _ = layered_defocus(sharp.double(), background_radius, [layer], _disk)
        reference = front * alpha + sharp * (1 - alpha)
        cases.append(
            Case(
                name=f"{dataset}/{stem}@layered",
                blurry=_noisy(scene, spec.noise_sigma, spec.seed * 7919 + 2 * index + 1),
                sharp=reference.float(),
                psf=_disk(background_radius),
                group=f"{dataset}/layered",
                psf_spec="layered",
                radius=background_radius,
            )
        )
    return cases


def _lens_cases(spec: Protocol, dataset: str, images: list[tuple[str, torch.Tensor]]) -> list[Case]:
    cases = []
    for k, radius in enumerate(LENS_RADII):
        for index, (stem, sharp) in enumerate(images):
            psf = lens_psf(float(radius), shape=index % LENS_SHAPES)
            blurry = blur(sharp.double(), psf, "reflect-101")
            cases.append(
                Case(
                    name=f"{dataset}/{stem}@lens:{radius}",
                    blurry=_noisy(blurry, spec.noise_sigma, (spec.seed + k) * 7919 + index),
                    sharp=sharp,
                    psf=psf,
                    group=f"{dataset}/lens:{radius}",
                    psf_spec=f"lens:{radius}",
                    radius=float(radius),
                )
            )
    return cases
