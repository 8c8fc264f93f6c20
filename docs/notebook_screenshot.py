"""docs/images/notebook_tutorial.png: the executed tutorial as a user sees it in a browser.

Runs the first cells of examples/tutorial.ipynb (up to the comparison: the world's scene, a
program, its trace on each back end) in a real kernel as tests/test_tutorial.py does, in a
scratch folder (the notebook makes its own 4-image world), exports them to HTML with
nbconvert's lab template, screenshots the page with headless Chromium, trims the empty page
below and quantizes the PNG with Pillow.
Not part of ``make test``: CI has no Chromium. Run ``make notebook-screenshot`` (needs the
notebook extra and ``apt-get install chromium``); the stored notebook is left without outputs.

    .venv/bin/python docs/notebook_screenshot.py --stop-before "## Compress, then answer"
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "examples" / "tutorial.ipynb"
OUT = ROOT / "docs" / "images" / "notebook_tutorial.png"

# Chromium's background services are off (the closed network refuses them), and no host
# resolves, so the page's CDN scripts (require.js, MathJax) fail at once and the load never waits.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1",
                  "--host-resolver-rules=MAP * ~NOTFOUND"]


def executed_html(work: pathlib.Path, stop_before: str) -> pathlib.Path:
    """The tutorial's cells above the heading ``stop_before``, run in ``work``, as HTML there."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(TUTORIAL, as_version=4)
    heads = [i for i, c in enumerate(nb.cells) if c.source.startswith(stop_before)]
    if not heads:  # the tutorial changed: say so rather than picture the whole notebook
        raise SystemExit(f"error: no cell of {TUTORIAL.name} starts with {stop_before!r}")
    nb.cells = nb.cells[:heads[0]]
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}}).execute()
    except nbclient.exceptions.CellExecutionError as error:  # its error line, not a traceback
        raise SystemExit(f"error: a cell of {TUTORIAL.name} failed: {error.ename}: "
                         f"{error.evalue}") from None
    body, _ = HTMLExporter(template_name="lab", exclude_anchor_links=True).from_notebook_node(nb)
    page = work / "tutorial.html"
    page.write_text(body, encoding="utf-8")
    return page


def screenshot(page: pathlib.Path, png: pathlib.Path, width: int, height: int,
               chromium: str) -> None:
    """The top ``width x height`` pixels of ``page`` as rendered by headless Chromium."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def palette(image, colours: int, flat: int = 32):
    """A palette of the page's ``flat`` commonest colours exactly (white, the cells' greys, the
    text) and an octree's for the pictures: an octree alone shifts those (white became 252)."""
    from PIL import Image

    exact = np.array([c for _, c in sorted(image.getcolors(1 << 24), reverse=True)[:flat]])
    tree = image.quantize(colours, method=Image.Quantize.FASTOCTREE).getpalette()[:3 * colours]
    tree = np.array(tree).reshape(-1, 3)
    # Pillow maps to a palette coarsely: a near twin of white would take white's pixels.
    apart = np.abs(tree[:, None] - exact[None]).max(-1).min(1) > 6
    both = np.concatenate([exact, tree[apart]])[:colours]
    out = Image.new("P", (1, 1))
    out.putpalette(both.astype(np.uint8).ravel().tolist())
    return out


def optimise(png: pathlib.Path, out: pathlib.Path, colours: int, margin: int = 24) -> None:
    """The page's content cut from the empty page below, as a dithered palette PNG: the page is
    mostly flat colour, so it stays small at full resolution; undithered, the scene's shading
    and the saliency maps band visibly."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        image = image.convert("RGB")
    page = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    bottom = ImageChops.difference(image, page).getbbox()[3]
    if bottom >= image.height - 1:
        raise SystemExit(f"error: the page is taller than the window; pass --height above "
                         f"{image.height}")
    image = image.crop((0, 0, image.width, min(image.height, bottom + margin)))
    # Pillow dithers only when given a palette.
    small = image.quantize(palette=palette(image, colours), dither=Image.Dither.FLOYDSTEINBERG)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=6000,
                        help="window height, above the page's; the empty rest is trimmed")
    parser.add_argument("--stop-before", default="## Compare the back ends",
                        help="the first markdown cell left out (its opening text)")
    parser.add_argument("--colours", type=int, default=256)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--keep", type=pathlib.Path, help="also keep the HTML and raw PNG here")
    args = parser.parse_args(argv)
    if not shutil.which(args.chromium):
        print(f"error: no Chromium at {args.chromium} (apt-get install -y chromium)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        page = executed_html(work, args.stop_before)
        raw = work / "raw.png"
        screenshot(page, raw, args.width, args.height, args.chromium)
        optimise(raw, args.out, args.colours)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, args.keep)
            shutil.copy(raw, args.keep)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
