"""``defocus degrade``: blur (and optionally add noise to) images with a known PSF."""

from __future__ import annotations

import argparse
import io
import secrets
from pathlib import Path

import numpy as np
import torch

from defocus.cli.options import count, number
from defocus.cli.output import progress_bar, stderr_console, write_json
from defocus.degrade import add_noise, blur, parse_psf
from defocus.degrade.blur import PADDINGS
from defocus.degrade.kernels import psf_file
from defocus.errors import DefocusError
from defocus.io import atomic_write_bytes, list_images, probe_image, read_image, write_image
from defocus.io.staging import StagedOutputs, check_new_folder, check_outputs
from defocus.limits import MAX_PSF_SIDE, check_psf_fits

PSF_FILE = "psf.npy"
SIDECAR_FILE = "degrade.json"
# Peak memory per value (pixel x channel, alpha counted as a channel) of one image:
# its float32 pixels, the blurred copy, the noise buffer, the 8/16-bit copies and the
# encoded file; shot noise adds its rate and draw. Measured: 12.5 bytes per value
# (peak RSS 5.4 GB) for a 144-megapixel RGB JPEG with Gaussian noise (BENCHMARKS.md).
BYTES_PER_VALUE = 14
POISSON_BYTES_PER_VALUE = 8


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``degrade`` sub-command."""
    parser = subparsers.add_parser(
        "degrade",
        help="blur images with a known PSF (and add noise) to make test pairs",
        description=(
            "Blur every input image with a PSF, optionally add Gaussian or "
            "Poisson-Gaussian noise, and write the results (same format and bit depth, "
            f"alpha/ICC/EXIF kept) to OUT together with the PSF ({PSF_FILE}) and the "
            f"parameters ({SIDECAR_FILE}). All or nothing: every input is checked first "
            "(readable header, size at least the PSF's, memory), the results are written "
            "to a hidden folder inside OUT and moved into place only when every image "
            "succeeded; on any error nothing is written (and OUT is removed if this "
            "command created it). Inputs and the PSF file are never overwritten."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--psf",
        default="disk:3",
        help="disk:R, gaussian:SIGMA, ring:R, box:N or a .npy/image file (default disk:3); "
        f"at most {MAX_PSF_SIDE} taps per side and never larger than the image",
    )
    parser.add_argument(
        "--noise",
        type=number(0.0),
        default=0.0,
        help="Gaussian noise std in [0, 1] units (default 0)",
    )
    parser.add_argument(
        "--poisson-peak",
        type=number(0.0, above=True),
        default=None,
        help="add shot noise too: photon count at white (e.g. 1000)",
    )
    parser.add_argument(
        "--seed", type=count(0), default=None, help="noise seed, an integer >= 0 (default: random)"
    )
    parser.add_argument(
        "--boundary",
        "--padding",
        dest="padding",
        choices=PADDINGS,
        default="reflect",
        help="boundary model of the blur (default reflect, i.e. reflect-101)",
    )
    parser.set_defaults(func=run)


def _collect_inputs(inputs: list[str], out: Path) -> list[tuple[Path, Path]]:
    """List ``(input, output)`` paths; refuse name clashes."""
    files = [f for item in inputs for f in list_images(item)]
    pairs: list[tuple[Path, Path]] = []
    seen: dict[str, Path] = {}
    for f in files:
        if f.name in seen:
            raise DefocusError(
                f"{f}: same file name as {seen[f.name]}; both would be {out / f.name}"
            )
        seen[f.name] = f
        pairs.append((f, out / f.name))
    return pairs


def _check_inputs(jobs: list[tuple[Path, Path]], psf: torch.Tensor, poisson: bool) -> None:
    """Probe every input's header: PSF no larger than the image, memory available."""
    per_value = BYTES_PER_VALUE + (POISSON_BYTES_PER_VALUE if poisson else 0)
    for source, _ in jobs:
        info = probe_image(source)
        check_psf_fits(tuple(psf.shape), (info.height, info.width), str(source))
        info.check_memory(per_value)


def _save_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def run(args: argparse.Namespace) -> int:
    """Degrade the inputs; return the exit code."""
    psf = parse_psf(args.psf)
    out: Path = args.out
    check_new_folder(out)
    jobs = _collect_inputs(args.inputs, out)
    noisy = args.noise > 0 or args.poisson_peak is not None
    _check_inputs(jobs, psf, args.poisson_peak is not None)
    psf_source = psf_file(args.psf)
    check_outputs(
        reads=[source for source, _ in jobs] + ([psf_source] if psf_source else []),
        writes=[target for _, target in jobs] + [out / PSF_FILE, out / SIDECAR_FILE],
    )
    seed = args.seed if args.seed is not None else secrets.randbits(32)

    records = []
    with StagedOutputs(out) as stage, progress_bar("degrade", len(jobs)) as (progress, task):
        for index, (source, target) in enumerate(jobs):
            progress.update(task, description=source.name)
            image = read_image(source)
            y = blur(image.pixels[None], psf.to(torch.float32), padding=args.padding)
            noise_seed = None
            if noisy:
                noise_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
                generator = torch.Generator().manual_seed(noise_seed)
                y = add_noise(y, args.noise, generator, args.poisson_peak, clip=True)
            write_image(
                stage.staged(target),
                y[0],
                bit_depth=image.bit_depth,
                alpha=image.alpha,
                icc_profile=image.icc_profile,
                exif=image.exif,
            )
            records.append(
                {
                    "input": str(source),
                    "output": target.name,
                    "height": image.size[0],
                    "width": image.size[1],
                    "bit_depth": image.bit_depth,
                    "noise_seed": noise_seed,
                }
            )
            del image, y
            progress.advance(task)

        _save_npy(stage.staged(out / PSF_FILE), psf.numpy())
        sidecar = {
            "psf": args.psf,
            "psf_file": PSF_FILE,
            "psf_shape": list(psf.shape),
            "padding": args.padding,
            "noise_sigma": args.noise,
            "poisson_peak": args.poisson_peak,
            "seed": seed if noisy else None,
            "clipped": noisy,
            "images": records,
        }
        write_json(stage.staged(out / SIDECAR_FILE), sidecar)
    stderr_console().print(f"degraded {len(records)} image(s) into {out}")
    return 0
