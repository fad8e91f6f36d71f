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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from defocus.data import DegradationConfig, SyntheticDefocusDataset
from defocus.degrade import parse_psf
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
    """

    name: str
    psfs: tuple[str, ...]
    noise_sigma: float
    seed: int = 0


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
