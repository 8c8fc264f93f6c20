"""The codec comparison table and rate-distortion figure.

>>> from clevrlang.compress.synthetic import synthetic_images
>>> rows = codec_table(synthetic_images(2, (32, 32)), budgets=(128,), codecs=("jpeg",))
>>> rows[0]["codec"], rows[0]["budget"], rows[0]["images"]
('jpeg', 128, 2)
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from clevrlang.images import as_image
from clevrlang.language.errors import BudgetTooSmall, CheckpointError
from clevrlang.language.vocabulary import LEARNED_CODECS, STANDARD_CODECS

from .registry import get_codec

log = logging.getLogger(__name__)
COLUMNS = ("codec", "budget", "images", "skipped", "ssim", "ms_ssim", "psnr", "nbytes",
           "total_bytes", "bpp")


def _codecs(codecs) -> list:
    """Named codecs (or codec objects); None = every standard one + learned ones with weights."""
    if codecs is not None:
        return [get_codec(c) if isinstance(c, str) else c for c in codecs]
    out = [get_codec(c) for c in STANDARD_CODECS]
    for name in LEARNED_CODECS:
        try:
            out.append(get_codec(name))
        except CheckpointError as e:
            log.warning("skipping %s: %s", name, e.message)
    return out


def codec_table(images, budgets=(64, 128), codecs=None, progress: bool = False) -> list[dict]:
    """One row per (codec, budget): means over the images of SSIM, MS-SSIM, PSNR, header-less
    bytes, total bytes and bpp. Images below a codec's smallest payload count as ``skipped``.
    """
    from tqdm.auto import tqdm

    from .metrics import ms_ssim, psnr, ssim

    images = [as_image(im) for im in images]
    rows = []
    pairs = [(codec, budget) for codec in _codecs(codecs) for budget in budgets]
    for codec, budget in tqdm(pairs, desc="codecs", unit="row", disable=not progress):
        acc: dict[str, list[float]] = {k: [] for k in COLUMNS[4:]}
        skipped = 0
        for im in images:
            try:
                code = codec.encode(im, budget)
            except BudgetTooSmall:  # budget below this codec's minimum for this image
                skipped += 1
                continue
            out = codec.decode(code)
            for k, v in (("ssim", ssim(im, out)), ("ms_ssim", ms_ssim(im, out)),
                         ("psnr", min(psnr(im, out), 100.0)), ("nbytes", code.nbytes),
                         ("total_bytes", code.total_bytes), ("bpp", code.bpp)):
                acc[k].append(v)
        row = {"codec": codec.name, "budget": int(budget), "images": len(images) - skipped,
               "skipped": skipped}
        row.update({k: float(np.mean(v)) if v else math.nan for k, v in acc.items()})
        rows.append(row)
    return rows


def table_markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table (SSIM per codec and budget, header-less and total bytes)."""
    head = ("| codec | budget B | SSIM | MS-SSIM | PSNR dB | bytes (header-less) | bytes (total) "
            "| bpp | images |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['codec']} | {r['budget']} | {r['ssim']:.3f} | {r['ms_ssim']:.3f} | "
                     f"{r['psnr']:.2f} | {r['nbytes']:.1f} | {r['total_bytes']:.1f} | "
                     f"{r['bpp']:.3f} | {r['images']}"
                     + (f" ({r['skipped']} below minimum)" if r["skipped"] else "") + " |")
    return "\n".join(lines) + "\n"


def rate_distortion_png(rows: list[dict], path: str | os.PathLike) -> Path:
    """SSIM and PSNR against header-less bits per pixel, one line per codec, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name in dict.fromkeys(r["codec"] for r in rows):
        pts = sorted((r["bpp"], r["ssim"], r["psnr"]) for r in rows
                     if r["codec"] == name and not math.isnan(r["bpp"]))
        if not pts:
            continue
        x, s, p = zip(*pts)
        style = "-o" if name in LEARNED_CODECS else "--s"
        axes[0].plot(x, s, style, label=name, markersize=4)
        axes[1].plot(x, p, style, label=name, markersize=4)
    for ax, label in zip(axes, ("SSIM", "PSNR (dB)")):
        ax.set_xlabel("bits per pixel (header-less)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("rate-distortion")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def codec_outputs_png(image, pairs, path: str | os.PathLike, codecs: dict | None = None,
                      columns: int = 3) -> tuple[Path, list[dict]]:
    """The image and its round trip through each ``(codec name, budget)`` of ``pairs``, side by
    side with the bytes of each payload and its SSIM, as a PNG; and one row per pair
    (``codec``, ``budget``, ``nbytes``, ``ssim``, ``skipped``: the budget is below what the
    codec can make for this image). ``codecs`` maps a name to a codec object to use instead
    of the installed one (e.g. a task codec loaded from a training run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import ssim

    image = as_image(image)
    panels, rows = [(image, "original")], []
    for name, budget in pairs:
        codec = (codecs or {}).get(name) or get_codec(name)
        try:
            code = codec.encode(image, budget)
        except BudgetTooSmall:
            rows.append({"codec": name, "budget": budget, "nbytes": None, "ssim": None,
                         "skipped": True})
            panels.append((None, f"{name} at {budget} B: cannot fit"))
            continue
        out = codec.decode(code)
        row = {"codec": name, "budget": budget, "nbytes": int(code.nbytes),
               "ssim": float(ssim(image, out)), "skipped": False}
        rows.append(row)
        panels.append((out, f"{name} at {budget} B: {row['nbytes']} B, SSIM {row['ssim']:.3f}"))
    ncols = min(columns, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    h, w = image.shape[:2]
    scale = 3.2 / w
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * w * scale, nrows * (h * scale + 0.35)))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (img, title) in zip(axes.flat, panels):
        if img is not None:
            ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, rows
