"""``defocus degrade``: blur (and optionally add noise to) images with a known PSF."""

from __future__ import annotations

import argparse
import io
import secrets
from pathlib import Path

import numpy as np
import torch

from defocus.cli.output import progress_bar, stderr_console, write_json
from defocus.degrade import add_noise, blur, parse_psf
from defocus.degrade.blur import PADDINGS
from defocus.errors import DefocusError
from defocus.io import atomic_write_bytes, list_images, read_image, write_image

PSF_FILE = "psf.npy"
SIDECAR_FILE = "degrade.json"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``degrade`` sub-command."""
    parser = subparsers.add_parser(
        "degrade",
        help="blur images with a known PSF (and add noise) to make test pairs",
        description=(
            "Blur every input image with a PSF, optionally add Gaussian or "
            "Poisson-Gaussian noise, and write the results (same format and bit depth, "
            f"alpha/ICC/EXIF kept) to OUT together with the PSF ({PSF_FILE}) and the "
            f"parameters ({SIDECAR_FILE})."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("-o", "--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--psf",
        default="disk:3",
        help="disk:R, gaussian:SIGMA, ring:R, box:N or a .npy/image file (default disk:3)",
    )
    parser.add_argument(
        "--noise", type=float, default=0.0, help="Gaussian noise std in [0, 1] units (default 0)"
    )
    parser.add_argument(
        "--poisson-peak",
        type=float,
        default=None,
        help="add shot noise too: photon count at white (e.g. 1000)",
    )
    parser.add_argument("--seed", type=int, default=None, help="noise seed (default: random)")
    parser.add_argument(
        "--padding", choices=PADDINGS, default="reflect", help="border rule (default reflect)"
    )
    parser.set_defaults(func=run)


def _collect_inputs(inputs: list[str], out: Path) -> list[tuple[Path, Path]]:
    """List ``(input, output)`` paths; refuse name clashes and writing onto an input."""
    files = [f for item in inputs for f in list_images(item)]
    resolved_inputs = {f.resolve() for f in files}
    pairs: list[tuple[Path, Path]] = []
    seen: dict[str, Path] = {}
    for f in files:
        if f.name in seen:
            raise DefocusError(
                f"{f}: same file name as {seen[f.name]}; both would be {out / f.name}"
            )
        seen[f.name] = f
        target = out / f.name
        if target.resolve() in resolved_inputs:
            raise DefocusError(
                f"{target}: output would overwrite an input image; choose another -o"
            )
        pairs.append((f, target))
    return pairs


def _save_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def run(args: argparse.Namespace) -> int:
    """Degrade the inputs; return the exit code."""
    if args.noise < 0:
        raise DefocusError(f"--noise must be >= 0, got {args.noise}")
    if args.poisson_peak is not None and args.poisson_peak <= 0:
        raise DefocusError(f"--poisson-peak must be positive, got {args.poisson_peak}")
    psf = parse_psf(args.psf)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise DefocusError(f"{out}: exists and is not a folder")
    jobs = _collect_inputs(args.inputs, out)
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    noisy = args.noise > 0 or args.poisson_peak is not None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DefocusError(f"{out}: cannot create folder ({exc.strerror or exc})") from None

    records = []
    with progress_bar("degrade", len(jobs)) as (progress, task):
        for index, (source, target) in enumerate(jobs):
            progress.update(task, description=source.name)
            image = read_image(source)
            x = image.pixels[None]
            y = blur(x, psf.to(torch.float32), padding=args.padding)
            noise_seed = None
            if noisy:
                noise_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
                generator = torch.Generator().manual_seed(noise_seed)
                y = add_noise(y, args.noise, generator, args.poisson_peak, clip=True)
            write_image(
                target,
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
            progress.advance(task)

    _save_npy(out / PSF_FILE, psf.numpy())
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
    write_json(out / SIDECAR_FILE, sidecar)
    stderr_console().print(f"degraded {len(records)} image(s) into {out}")
    return 0
