"""``OUT/report.html`` of ``defocus evaluate``: a benchmark to read in a browser.

One self-contained page (inline style, no network, no external script) beside the
other outputs: the means of every metric with 95 % intervals, paired t-tests against
the baseline, per-group tables, the metrics figure, and a gallery. The gallery shows,
for each method other than the baseline, the cases where it gained most and least
over the baseline on the primary metric (PSNR when scored), each as the reference,
the input, the baseline's and the method's restorations side by side, with zoomed
crops (nearest-neighbour, :data:`ZOOM_SCALE` times) of the window where the method
changed the input most. Images live in ``OUT/report_files/`` and are referenced by
relative paths, so the folder can be moved or archived as a whole.

The gallery's images are restored again for the chosen cases (restorers are
deterministic), so evaluation never keeps every restoration in memory.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from defocus.bench.evaluate import Record, Restorer, restore_case
from defocus.bench.protocols import Case
from defocus.bench.stats import compare, mean_interval
from defocus.bench.tables import ALL, METRIC_LABELS, format_p, group_key, mean_table, methods_of
from defocus.io import atomic_write_bytes, write_image
from defocus.metrics.base import METRICS
from defocus.metrics.omega import OMEGA_CAVEAT

REPORT = "report.html"
"""File name of the report inside the evaluation folder."""
FILES = "report_files"
"""Folder of the report's images inside the evaluation folder (replaced on each run)."""
FIGURE = "metrics.png"
"""The metrics figure ``defocus evaluate`` writes beside the report."""
GALLERY_SIZE = 2
"""Cases with the largest and with the smallest gains shown per method."""
ZOOM = 64
"""Side of the zoomed window in pixels (smaller images are shown whole)."""
ZOOM_SCALE = 3
"""Magnification of the zoomed crops."""


@dataclass
class GalleryItem:
    """One case of the gallery: its description and its images (relative paths).

    Attributes:
        title: The case's name (group, image and PSF).
        gain: The method's score minus the baseline's (sign set so that > 0 is better).
        images: Caption → path relative to the evaluation folder, full views.
        zooms: Caption → path of the zoomed crop, same captions.
    """

    title: str
    gain: float
    images: dict[str, str] = field(default_factory=dict)
    zooms: dict[str, str] = field(default_factory=dict)


def primary_metric(metrics: Sequence[str]) -> str:
    """The metric the gallery ranks by: PSNR when scored, else the first one."""
    return "psnr" if "psnr" in metrics else metrics[0]


def lower_is_better(metric: str) -> bool:
    """Whether a registered metric's lower values are better (LPIPS), from its class."""
    return METRICS.get(metric).lower_is_better


def ranked_gains(
    records: Sequence[Record], method: str, baseline: str | None, metric: str
) -> list[tuple[int, float]]:
    """``(index among the method's records, gain)`` sorted by gain, best first.

    The gain is the method's score minus the baseline's on the same case (matched by
    position: both come from the same cases in the same order), or the method's own
    score without a baseline; negated for lower-is-better metrics. Cases whose gain is
    not finite (an infinite PSNR) are left out.
    """
    sign = -1.0 if lower_is_better(metric) else 1.0
    mine = [r[metric] for r in records if r["method"] == method]
    theirs = [r[metric] for r in records if r["method"] == baseline] if baseline else []
    gains = [(i, sign * (value - (theirs[i] if theirs else 0.0))) for i, value in enumerate(mine)]
    return sorted((g for g in gains if math.isfinite(g[1])), key=lambda item: -item[1])


def picks(ranked: list[tuple[int, float]], count: int) -> list[tuple[int, float]]:
    """The ``count`` best and ``count`` worst entries of ``ranked`` (no case twice)."""
    best = ranked[:count]
    worst = [item for item in ranked[-count:] if item not in best]
    return best + worst


def zoom_window(changed: torch.Tensor, size: int) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the ``size`` window with the largest change.

    Shape:
        ``changed``: ``(1, C, H, W)``, e.g. ``|restored - input|``.
    """
    height, width = changed.shape[-2:]
    if height <= size or width <= size:
        return 0, 0, min(height, size), min(width, size)
    energy = F.avg_pool2d(changed.float().mean(1, keepdim=True), size, stride=size // 2)
    row, col = divmod(int(energy.flatten().argmax()), energy.shape[-1])
    return row * (size // 2), col * (size // 2), size, size


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "item"


def _view(case: Case, image: torch.Tensor) -> torch.Tensor:
    if case.window is None:
        return image
    top, left, height, width = case.window
    return image[..., top : top + height, left : left + width]


def write_gallery(
    folder: Path,
    cases: Sequence[Case],
    records: Sequence[Record],
    restorers: Mapping[str, Restorer],
    metrics: Sequence[str],
    baseline: str | None,
    count: int = GALLERY_SIZE,
) -> dict[str, list[GalleryItem]]:
    """Restore the gallery's cases again and write their images under ``folder``.

    Args:
        folder: Where the images go (``OUT/report_files`` or a staging folder).
        cases: The cases the records were scored on, in order.
        records: Per-image records of every method (as :func:`~defocus.bench.evaluate`).
        restorers: Method name → restorer.
        metrics: The scored metrics.
        baseline: Method the gains are measured against.
        count: Best and worst cases per method.

    Returns:
        Method → its gallery items; paths are relative to ``folder``'s parent.
    """
    metric = primary_metric(metrics)
    gallery: dict[str, list[GalleryItem]] = {}
    shown_baseline = baseline if baseline in restorers and baseline != "blurry" else None
    baseline_views: dict[int, torch.Tensor] = {}  # restored once, shown for every method

    def write(name: str, pixels: torch.Tensor) -> str:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / name, pixels[0])
        return f"{folder.name}/{name}"

    for m_index, method in enumerate(m for m in methods_of(records) if m != baseline):
        items = []
        for rank, (index, gain) in enumerate(
            picks(ranked_gains(records, method, baseline, metric), count)
        ):
            case = cases[index]
            views = {"reference": case.sharp, "input": case.blurry}
            if shown_baseline is not None:
                if index not in baseline_views:
                    baseline_views[index] = restore_case(restorers[shown_baseline], case)
                views[shown_baseline] = baseline_views[index]
            views[method] = restore_case(restorers[method], case)
            views = {k: _view(case, v.to(torch.float32).clamp(0, 1)) for k, v in views.items()}
            top, left, h, w = zoom_window((views[method] - views["input"]).abs(), ZOOM)
            stem = f"{m_index:02d}-{_slug(method)}/{rank:02d}-{_slug(case.name)}"
            item = GalleryItem(case.name, gain)
            for k_index, (caption, image) in enumerate(views.items()):
                full = f"{stem}-{k_index}.png"
                crop = image[..., top : top + h, left : left + w]
                crop = crop.repeat_interleave(ZOOM_SCALE, -2).repeat_interleave(ZOOM_SCALE, -1)
                item.images[caption] = write(full, image)
                item.zooms[caption] = write(f"{stem}-{k_index}-zoom.png", crop)
            items.append(item)
        gallery[method] = items
    return gallery


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table: the first column names, the others numbers (cells already HTML)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i else "name"}">{cell}</td>' for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _means_section(records: Sequence[Record], metrics: Sequence[str]) -> str:
    columns = [*metrics, "seconds"]
    methods = methods_of(records)
    cells: dict[tuple[str, str], tuple[float, float]] = {
        (method, c): mean_interval([float(r[c]) for r in records if r["method"] == method])
        for method in methods
        for c in columns
    }
    best = {}
    for c in metrics:
        means = {m: cells[(m, c)][0] for m in methods}
        best[c] = (min if lower_is_better(c) else max)(means, key=means.__getitem__)
    rows = []
    for method in methods:
        row = [html.escape(method), str(sum(r["method"] == method for r in records))]
        for c in columns:
            mean, half = cells[(method, c)]
            text = f"{mean:.4f}" + ("" if math.isnan(half) else f" ± {half:.4f}")
            row.append(f"<b>{text}</b>" if best.get(c) == method and len(methods) > 1 else text)
        rows.append(row)
    header = ["method", "images", *(_label(c) for c in columns)]
    return (
        "<h2>Means over all images</h2><p>Mean ± half-width of the 95 % t-interval over "
        "images; the best mean of each metric in bold.</p>" + _table(header, rows)
    )


def _tests_section(records: Sequence[Record], metrics: Sequence[str], baseline: str | None) -> str:
    others = [m for m in methods_of(records) if m != baseline]
    if baseline is None or not others:
        return ""
    rows = []
    for method in others:
        row = [html.escape(method)]
        for metric in metrics:
            test = compare(records, method, baseline, metric)
            row.append(
                f"{test.mean_difference:+.4f} [{test.ci_low:+.4f}, {test.ci_high:+.4f}]"
                f"<br><small>p = {format_p(test.p)}</small>"
            )
        rows.append(row)
    return (
        f"<h2>Paired t-tests against <code>{html.escape(baseline)}</code></h2>"
        "<p>Mean difference (method − baseline) over the same images, its 95 % interval "
        "and the two-sided p-value.</p>" + _table(["method", *map(_label, metrics)], rows)
    )


def _groups_section(records: Sequence[Record], metrics: Sequence[str]) -> str:
    by = group_key(records)
    grouped = [row for row in mean_table(records, metrics, by) if row["group"] != ALL]
    groups = list(dict.fromkeys(str(row["group"]) for row in grouped))
    if len(groups) < 2:
        return ""
    parts = [f"<h2>Per {html.escape(by)}</h2>"]
    for metric in metrics:
        rows = []
        for method in methods_of(records):
            value = {r["group"]: r[metric] for r in grouped if r["method"] == method}
            rows.append([html.escape(method), *(f"{value[g]:.4f}" for g in groups)])
        parts.append(f"<h3>{html.escape(_label(metric))}</h3>")
        parts.append(_table(["method", *groups], rows))
    return "".join(parts)


def _gallery_section(
    gallery: Mapping[str, list[GalleryItem]], metric: str, baseline: str | None
) -> str:
    if not gallery:
        return ""
    against = f"over <code>{html.escape(baseline)}</code>" if baseline else "(its own score)"
    parts = [
        "<h2>Gallery</h2>",
        f"<p>Per method, the cases with the largest and the smallest {html.escape(_label(metric))} "
        f"gain {against}; below each row, the window where the method changed the input "
        f"most, magnified {ZOOM_SCALE}x.</p>",
    ]
    for method, items in gallery.items():
        parts.append(f"<h3>{html.escape(method)}</h3>")
        for item in items:
            parts.append(
                f'<figure class="case"><figcaption>{html.escape(item.title)} — gain '
                f"{item.gain:+.3f}</figcaption>"
            )
            for row in (item.images, item.zooms):
                parts.append('<div class="row">')
                for caption, path in row.items():
                    src, alt = html.escape(path, quote=True), html.escape(caption, quote=True)
                    parts.append(
                        f'<div class="cell"><img src="{src}" alt="{alt}">'
                        f"<span>{html.escape(caption)}</span></div>"
                    )
                parts.append("</div>")
            parts.append("</figure>")
    return "".join(parts)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:78rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem}
th{background:#f4f4f4;text-align:right} th:first-child{text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} td.name{text-align:left}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem 1rem}
#missing{background:#fde2e2;border-left:4px solid #c00;padding:.5rem 1rem;display:none}
figure.case{margin:1rem 0 2rem} figcaption{font-weight:600;margin-bottom:.3rem}
.row{display:flex;gap:.5rem;margin-bottom:.5rem}
.cell{flex:1;min-width:0;text-align:center;font-size:.8rem}
.cell img{width:100%;height:auto;image-rendering:pixelated;display:block}
img.figure{max-width:100%}
"""

CHECK_IMAGES = """
window.addEventListener('load', function () {
  var bad = Array.prototype.filter.call(document.images, function (img) {
    return !(img.complete && img.naturalWidth > 0);
  });
  document.body.setAttribute('data-missing-images', String(bad.length));
  if (bad.length) {
    var box = document.getElementById('missing');
    box.textContent = bad.length + ' image(s) of this report are missing: ' +
      bad.map(function (img) { return img.getAttribute('src'); }).join(', ');
    box.style.display = 'block';
  }
});
"""


def report_html(
    title: str,
    records: Sequence[Record],
    metrics: Sequence[str],
    baseline: str | None,
    gallery: Mapping[str, list[GalleryItem]],
    figure: str | None = FIGURE,
) -> str:
    """The report page (see the module docstring) as HTML text."""
    caveat = (
        f'<p class="note">{html.escape(OMEGA_CAVEAT)}</p>'
        if any(m in ("omega",) for m in metrics)
        else ""
    )
    shown = (
        f'<h2>Figure</h2><img class="figure" src="{figure}" alt="metrics figure">' if figure else ""
    )
    body = "".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            '<p id="missing"></p>',
            caveat,
            _means_section(records, metrics),
            _tests_section(records, metrics, baseline),
            _groups_section(records, metrics),
            shown,
            _gallery_section(gallery, primary_metric(metrics), baseline),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{CHECK_IMAGES}</script></head>"
        f'<body data-missing-images="unchecked">{body}</body></html>\n'
    )


def write_report(
    out: str | Path,
    title: str,
    cases: Sequence[Case],
    records: Sequence[Record],
    restorers: Mapping[str, Restorer],
    metrics: Sequence[str],
    baseline: str | None,
    count: int = GALLERY_SIZE,
) -> Path:
    """Write ``OUT/report.html`` and its images (``OUT/report_files/``).

    The images are written to a staging folder first and swapped in whole, then the
    page is written: a failure while restoring or writing the gallery leaves the
    previous report as it was.

    Args:
        out: The evaluation folder (with ``metrics.png``).
        title: Page title.
        cases: The evaluated cases, in order.
        records: Their records, every method.
        restorers: Method name → restorer (for the gallery).
        metrics: The scored metrics.
        baseline: Method the others are compared with, if any.
        count: Gallery cases per method at each end.

    Returns:
        The page's path.
    """
    out = Path(out)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out))
    try:
        images = staging / FILES
        images.mkdir()
        gallery = write_gallery(images, cases, records, restorers, metrics, baseline, count)
        figure = FIGURE if (out / FIGURE).is_file() else None
        page = report_html(title, records, metrics, baseline, gallery, figure)
        final = out / FILES
        if final.exists():
            final.rename(staging / "previous")
        images.rename(final)
        atomic_write_bytes(out / REPORT, page.encode("utf-8"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / REPORT
