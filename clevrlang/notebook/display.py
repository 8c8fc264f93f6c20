"""What clevrlang's objects look like in a notebook: HTML, PNG and Markdown for IPython.

Programs, scenes, traces, comparisons, evaluations and codec round trips keep one-line
``_repr_*_`` methods that import this module on first display, so ``import clevrlang`` pays
nothing for it. It reads those objects by their public fields and imports none of their
modules (they import it), so no import cycle runs through here.

>>> from clevrlang.language.program import parse
>>> html = program_html(parse("scene() |> filter[red] |> count"))
>>> "count" in html and ": Int" in html
True
>>> len(png_bytes(np.zeros((4, 6, 3), np.uint8))) > 0
True
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np

_GROUND = (128, 128, 128)  # CLEVR's grey, for a scene drawn without its image
_ERROR_STYLE = "color:#b00020;white-space:pre;font-family:monospace"


# ------------------------------------------------------------------------------ pictures

def png_bytes(image) -> bytes:
    """An ``H x W x 3`` array or a PIL image as PNG bytes."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, np.uint8))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def img_tag(png: bytes, alt: str = "", width: int | None = None) -> str:
    """An ``<img>`` with the PNG inline (a notebook saved with outputs keeps it)."""
    size = f' width="{width}"' if width else ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"{size}/>'


@dataclass(frozen=True)
class Picture:
    """An image array shown as a PNG (Jupyter cannot give NumPy arrays a picture)."""

    image: np.ndarray
    title: str = ""

    def _repr_png_(self) -> bytes:
        return png_bytes(self.image)

    def __repr__(self) -> str:
        h, w = np.asarray(self.image).shape[:2]
        return f"<Image {w}x{h}{': ' + self.title if self.title else ''}>"


def _read_image(path) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        return None


def _blank_for(objects: list[dict]) -> np.ndarray:
    """A grey canvas that holds every box and centre (CLEVR's 320 x 240 at least)."""
    w, h = 320, 240
    for o in objects:
        box, pc = o.get("bbox") or (), o.get("pixel_coords") or ()
        xs = [v for v in (*box[0::2], *pc[:1]) if isinstance(v, (int, float))]
        ys = [v for v in (*box[1::2], *pc[1:2]) if isinstance(v, (int, float))]
        w, h = max([w, *(int(x) + 8 for x in xs)]), max([h, *(int(y) + 8 for y in ys)])
    return np.full((h, w, 3), _GROUND, np.uint8)


def scene_picture(scene, image=None, selected=None, *, scale: int = 2, title: str = "",
                  legend: bool = True):
    """A PIL image of ``scene`` with object ids and boxes (``world show``'s overlay).

    ``image`` defaults to the scene's own file in its world (grey ground without one);
    ``selected`` (object ids) keeps only those objects' boxes; the legend lists all.
    """
    from clevrlang.world.show import draw_overlay

    objects = scene.objects if hasattr(scene, "objects") else scene.get("objects", [])
    if image is None:
        path = scene.image_path() if hasattr(scene, "image_path") else None
        image = _read_image(path) if path is not None else None
    if image is None:
        image = _blank_for(objects)
    if selected is not None:
        keep = set(selected)
        objects = [o if i in keep else {k: v for k, v in o.items()
                                         if k not in ("bbox", "pixel_coords")}
                   for i, o in enumerate(objects)]
    return draw_overlay(image, {"objects": objects}, scale=scale, title=title, legend=legend)


def scene_png(scene, image=None) -> bytes:
    """``Scene._repr_png_``: the scene's image, twice its size, boxed and numbered."""
    return png_bytes(scene_picture(scene, image))


# ------------------------------------------------------------------------------ programs

def highlighted(text: str) -> str:
    """.clv text as HTML with inline colours (Pygments escapes it)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from clevrlang.highlight import ClevrLexer

    return highlight(text, ClevrLexer(), HtmlFormatter(noclasses=True))


def program_types(program) -> str:
    return ", ".join(str(r.node.type) for r in program.roots)


def program_html(program) -> str:
    """``Program._repr_html_``: the canonical text highlighted, then its type."""
    types = program_types(program)
    return (f'<div class="clevrlang-program">{highlighted(program.to_clv())}'
            + (f"<code>: {html.escape(types)}</code>" if types else "") + "</div>")


def program_markdown(program) -> str:
    types = program_types(program)
    return f"```clevr\n{program.to_clv()}\n```\n" + (f"`: {types}`\n" if types else "")


# ------------------------------------------------------------------------------ tables

def table_html(header: list[str], rows: list[list], caption: str = "") -> str:
    """A plain HTML table; cells are escaped unless they are already markup (:class:`Raw`)."""
    def cell(tag, v):
        return f"<{tag}>{v.html if isinstance(v, Raw) else html.escape(str(v))}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="clevrlang">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


@dataclass(frozen=True)
class Raw:
    """A table cell that is HTML already (a highlighted program, an inline image)."""

    html: str


def trace_html(trace) -> str:
    """``Trace._repr_html_``: the program, then one row per node with its picture."""
    rows = [[Raw(f"<code>{html.escape(s.label)}</code>"), s.type, s.value,
             Raw(img_tag(png_bytes(s.picture), s.label) if s.picture is not None else "")]
            for s in trace.steps]
    answer = html.escape(trace.answer)
    return (f'<div class="clevrlang-trace">{highlighted(trace.program)}'
            f"<p>{html.escape(trace.backend)} back end: <b>{answer}</b></p>"
            + table_html(["node", "type", "value", "picture"], rows) + "</div>")


def accuracy_rows(rows) -> tuple[list[str], list[list]]:
    """Header and rows of an accuracy table per back end (``rows``: (label, table, bytes))."""
    header = ["back end"]
    out = []
    for label, table, mean_bytes in rows:
        header = ["back end"] + table.header() + ["bytes"]
        out.append([label] + table.row() + ["" if mean_bytes is None else f"{mean_bytes:.0f}"])
    return header, out


def comparison_html(cmp, charts: list[bytes]) -> str:
    """``Comparison._repr_html_``: accuracy per question type, then its charts."""
    header, rows = accuracy_rows((r.label, r.table, r.mean_bytes) for r in cmp.rows)
    caption = f"{len(cmp.questions)} questions of split {cmp.split}; accuracy in %"
    pictures = "".join(img_tag(png, "chart") for png in charts)
    return f'<div class="clevrlang-comparison">{table_html(header, rows, caption)}{pictures}</div>'


def eval_html(result) -> str:
    """``EvalResult._repr_html_``: its accuracy row and how many questions failed to run."""
    header, rows = accuracy_rows([(result.backend, result.table, None)])
    failed = sum(not isinstance(p, str) for p in result.predictions)
    note = f"<p>{failed} question(s) could not run</p>" if failed else ""
    return table_html(header[:-1], [r[:-1] for r in rows], "accuracy in %") + note


def roundtrip_html(rt) -> str:
    """``RoundTrip._repr_html_``: original and decoded side by side, bytes and SSIM."""
    h, w = rt.original.shape[:2]
    cells = [(rt.original, f"original {w}x{h} ({w * h * 3:,} bytes raw)"),
             (rt.decoded, f"{rt.codec}: {rt.nbytes} bytes (budget {rt.budget}), "
                          f"SSIM {rt.ssim:.3f}")]
    figures = "".join(f'<figure style="display:inline-block;margin:4px">{img_tag(png_bytes(im), c)}'
                      f"<figcaption>{html.escape(c)}</figcaption></figure>" for im, c in cells)
    return f'<div class="clevrlang-roundtrip">{figures}</div>'


# ------------------------------------------------------------------------------ messages

@dataclass(frozen=True)
class Message:
    """Text shown as is: an error's caret message (never a traceback), or a note."""

    text: str
    kind: str = "out"  # "out", "note" or "error", as the REPL's echo

    def _repr_html_(self) -> str:
        style = _ERROR_STYLE if self.kind == "error" else "white-space:pre;font-family:monospace" \
            + (";color:#666" if self.kind == "note" else "")
        return f'<div style="{style}">{html.escape(self.text)}</div>'

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Result:
    """One statement's result in a ``%%clv`` cell: its value, type and, when there is
    one, a picture (the selected objects boxed, an image value)."""

    statement: str
    type: str
    value: str
    picture: np.ndarray | None = None

    def _repr_html_(self) -> str:
        picture = f"<div>{img_tag(png_bytes(self.picture), self.value)}</div>" \
            if self.picture is not None else ""
        return (f'<div class="clevrlang-result"><code>{html.escape(self.value)}</code> '
                f'<span style="color:#666">: {html.escape(self.type)}</span>{picture}</div>')

    def __repr__(self) -> str:
        return self.value
