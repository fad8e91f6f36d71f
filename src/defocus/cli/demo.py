"""``defocus demo``: defocus a bundled real photo, restore it, and show what changed.

All the work (degradation, restoration, scores, figure) is done before anything is
written: an error (e.g. unreadable model weights) leaves ``--out`` untouched.
Then the demo's own files are replaced one by one, each atomically (a complete new
file or the old one); other files in ``--out`` are never touched.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from defocus.assets import sample_image_path
from defocus.blurmap import estimate_blur_map
from defocus.classical import wiener
from defocus.cli.output import format_value, stdout_console, table, write_csv
from defocus.degrade import add_noise, blur, disk_kernel, parse_psf
from defocus.degrade.kernels import psf_file
from defocus.degrade.scene import Layer, elliptical_matte, layered_defocus
from defocus.errors import DefocusError
from defocus.infer import deblur, resolve_device
from defocus.infer.compare import side_by_side
from defocus.io import atomic_path, atomic_write_bytes, quantise, read_image, write_image
from defocus.io.staging import check_outputs
from defocus.metrics.base import METRICS as REGISTERED_METRICS
from defocus.metrics.base import create_metric
from defocus.metrics.omega import OMEGA_CAVEAT

IMAGES = ("reference.png", "blurry.png", "restored.png")
LAYERED_IMAGES = ("layered-blurry.png", "layered-restored.png")
FILES = (*IMAGES, "comparison.png", *LAYERED_IMAGES, "layered-comparison.png")
FILES = (*FILES, "metrics.csv", "metrics.md")
BACKGROUND_RADIUS = 6.0
"""Disk radius of the layered scene's background (its subject is in focus)."""
METRICS = ("psnr", "ssim", "q", "omega", "omega-n", "lpips")
LABELS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "q": "Q",
    "omega": "Ω*",
    "omega-n": "Ω-n",
    "lpips": "LPIPS",
}
DIGITS = {"psnr": 2, "ssim": 4, "q": 4, "omega": 2, "omega-n": 4, "lpips": 4}
BIT_DEPTH = 8


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo",
        help="defocus a bundled photo, restore it with a model, write images and scores",
        description=(
            "Blur the bundled photo (a crop of Kodak 'kodim23') with a known PSF, add "
            "Gaussian noise and round to 8 bits, restore it blind with a model, and write "
            "reference.png, blurry.png, restored.png, comparison.png (blurry | restored | "
            "reference with PSNR and Q) and metrics.csv / metrics.md (PSNR, SSIM, Q, Ω, Ω-n, "
            "LPIPS of the blurry and restored images, and of non-blind Wiener given the "
            "true PSF for context) to --out; then the same photo as a depth scene (its "
            "middle in focus over itself defocused by a disk of 6 px): layered-blurry.png, "
            "layered-restored.png and layered-comparison.png (with the estimated blur "
            "map). Existing files of these names in --out are "
            "replaced (each atomically); other files there are left alone."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output folder (default demo-out)"
    )
    parser.add_argument(
        "--model",
        default="default",
        metavar="NAME|PATH",
        help="shipped weights name or .safetensors file (default: the default model)",
    )
    parser.add_argument(
        "--psf", default="disk:3", help="synthetic blur, as for `defocus degrade` (default disk:3)"
    )
    parser.add_argument(
        "--noise", type=float, default=0.01, help="Gaussian noise sigma (default 0.01)"
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto"
    )
    parser.set_defaults(func=run)


def degrade(reference: torch.Tensor, psf: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """Blur (reflect padding), add seeded Gaussian noise, clip and round to 8 bits.

    Shape:
        ``reference``: :math:`(C, H, W)`; returns the same shape.
    """
    blurred = blur(reference[None].double(), psf, padding="reflect")
    generator = torch.Generator().manual_seed(seed)
    noisy = add_noise(blurred, sigma, generator, clip=True)
    return quantise(noisy, BIT_DEPTH)[0]


def layered_scene(reference: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """The photo as a depth scene: its middle in focus over itself defocused behind.

    A soft ellipse of the photo (:func:`defocus.degrade.scene.elliptical_matte`) is
    the in-focus subject, composited as a thin lens sees it
    (:func:`defocus.degrade.scene.layered_defocus`) over the whole photo blurred by a disk
    of :data:`BACKGROUND_RADIUS`; then seeded noise and 8 bits as :func:`degrade`.

    Shape:
        ``reference``: :math:`(C, H, W)`; returns the same shape.
    """
    x = reference[None].double()
    alpha = elliptical_matte(*x.shape[-2:]).double()
    scene, _ = layered_defocus(x, BACKGROUND_RADIUS, [Layer(x, alpha, 0.0)], disk_kernel)
    generator = torch.Generator().manual_seed(seed)
    return quantise(add_noise(scene, sigma, generator, clip=True), BIT_DEPTH)[0]


def blur_map_image(image: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The estimated blur radius of ``image`` as a grey picture (white = the largest).

    Returns:
        The picture and the radius white stands for (pixels).

    Shape:
        ``image``: :math:`(C, H, W)`; the picture :math:`(1, H, W)`.
    """
    radius = estimate_blur_map(image[None].float()).radius[0]
    top = max(float(radius.max()), 1.0)
    return (radius / top).clamp(0, 1), top


def score(images: dict[str, torch.Tensor], reference: torch.Tensor) -> list[dict[str, float | str]]:
    """One row of :data:`METRICS` per image, each against ``reference`` (in one batch).

    Shape:
        ``images`` values and ``reference``: :math:`(C, H, W)`.
    """
    batch = {"restored": torch.stack(list(images.values())).double()}
    batch["reference"] = reference.double().expand_as(batch["restored"])
    columns: dict[str, list[float]] = {}
    with torch.no_grad():
        for name in METRICS:
            metric = create_metric(name).double()
            columns[name] = metric(*(batch[role] for role in metric.inputs)).tolist()
    return [
        {"image": label, **{name: values[index] for name, values in columns.items()}}
        for index, label in enumerate(images)
    ]


def markdown_table(rows: list[dict[str, float | str]]) -> str:
    """The metrics as a Markdown table (arrows say which way is better)."""
    arrows = {
        name: "↓" if REGISTERED_METRICS.get(name).lower_is_better else "↑" for name in METRICS
    }
    header = ["image", *(f"{LABELS[n]} {arrows[n]}" for n in METRICS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * len(METRICS)]
    for row in rows:
        cells = [str(row["image"]), *(format_value(row[n], DIGITS[n]) for n in METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n\\* {OMEGA_CAVEAT}\n"


def caption(label: str, row: dict[str, float | str]) -> str:
    """Two-line figure caption: the image's name, then its PSNR and Q."""
    psnr = float(row["psnr"])
    psnr_text = f"{psnr:.2f} dB" if math.isfinite(psnr) else "inf"
    return f"{label}\nPSNR {psnr_text}   Q {float(row['q']):.4f}"


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit code."""
    if not (math.isfinite(args.noise) and args.noise >= 0):
        raise DefocusError(f"--noise must be a number >= 0, got {args.noise}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise DefocusError(f"{out}: exists and is not a folder")
    device = resolve_device(args.device)
    psf = parse_psf(args.psf)
    model_file = Path(args.model) if Path(args.model).is_file() else None
    reads = [p for p in (psf_file(args.psf), model_file) if p is not None and p.is_file()]
    check_outputs(reads=reads, writes=[out / f for f in FILES])
    reference = quantise(read_image(sample_image_path()).pixels.double(), BIT_DEPTH)
    blurry = degrade(reference, psf, args.noise, args.seed)
    restored = quantise(deblur(blurry.float(), model=args.model, device=device).double(), BIT_DEPTH)
    deconvolved = quantise(wiener(blurry[None], psf, balance="auto")[0], BIT_DEPTH)
    layered = layered_scene(reference, args.noise, args.seed)
    layered_restored = quantise(
        deblur(layered.float(), model=args.model, device=device).double(), BIT_DEPTH
    )
    images = {
        "blurry": blurry,
        "restored": restored,
        "wiener": deconvolved,
        "layered blurry": layered,
        "layered restored": layered_restored,
    }
    scores = score({**images, "reference": reference}, reference)
    rows, reference_row = scores[:-1], scores[-1]
    by_name = {str(row["image"]): row for row in rows}
    figure = side_by_side(
        (blurry, restored, reference),
        (
            caption(f"blurry ({args.psf}, noise {args.noise:g})", by_name["blurry"]),
            caption(f"restored ({Path(args.model).name})", by_name["restored"]),
            caption("reference", reference_row),
        ),
    )
    radius_picture, top = blur_map_image(layered)
    layered_figure = side_by_side(
        (layered, layered_restored, radius_picture, reference),
        (
            caption(f"layered: background disk:{BACKGROUND_RADIUS:g}", by_name["layered blurry"]),
            caption("restored", by_name["layered restored"]),
            f"estimated blur map\nblack 0, white {top:.1f} px",
            caption("reference", reference_row),
        ),
    )

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DefocusError(f"{out}: cannot create folder ({exc.strerror or exc})") from None
    for name, image in zip(IMAGES, (reference, blurry, restored), strict=True):
        write_image(out / name, image.float(), bit_depth=BIT_DEPTH)
    for name, image in zip(LAYERED_IMAGES, (layered, layered_restored), strict=True):
        write_image(out / name, image.float(), bit_depth=BIT_DEPTH)
    for name, picture in (("comparison.png", figure), ("layered-comparison.png", layered_figure)):
        with atomic_path(out / name) as temporary:
            picture.save(temporary, format="PNG")
    write_csv(out / "metrics.csv", ["image", *METRICS], rows)
    atomic_write_bytes(out / "metrics.md", markdown_table(rows).encode())

    columns = [("image", "image"), *((n, LABELS[n]) for n in METRICS)]
    title = f"{sample_image_path().name}, {args.psf}, noise σ {args.noise:g}, seed {args.seed}"
    console = stdout_console()
    console.print(table(title, columns, rows, DIGITS))
    console.print(f"* {OMEGA_CAVEAT}", soft_wrap=True, markup=False)
    console.print(f"wrote {', '.join(str(out / f) for f in FILES)}", soft_wrap=True)
    return 0
