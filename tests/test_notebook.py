"""Jupyter: each object's rich display, and the %%clv magic through a real IPython shell."""

import io
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from clevrlang import parse

pytest.importorskip("IPython")

_VOID = {"img", "br", "hr", "meta", "input"}


class _Checker(HTMLParser):
    """Balanced tags (void ones aside) and the text between them."""

    def __init__(self):
        super().__init__()
        self.open, self.text, self.imgs = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> _Checker:
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.open, f"unclosed tags: {c.open}"
    return c


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def inline_png(img: dict) -> bytes:
    import base64

    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    return base64.b64decode(img["src"][len(prefix):])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from clevrlang.world.make import WorldSpec, make_world

    out = tmp_path_factory.mktemp("world")
    make_world(out, WorldSpec(images=3, split="val", questions_per_image=4, seed=5,
                              block_size=3), progress=False)
    return out


@pytest.fixture(scope="module")
def scene(world):
    from clevrlang import load_scenes

    return load_scenes(world / "scenes" / "CLEVR_val_scenes.json")[1]


# ------------------------------------------------------------------------------ display

def test_program_html_is_highlighted_escaped_canonical_text_with_its_type():
    p = parse('let s = scene() |> filter[small] |> unique\ncount(relate[front](s))\n'
              'expect load("a<b>.png") |> scene |> count == 2')
    c = parsed(p._repr_html_())
    text = "".join(c.text)
    for line in p.to_clv().splitlines():
        assert line in text  # the canonical text, every character (escapes decoded)
    assert ": Int, Int" in text
    assert "a<b>.png" not in p._repr_html_()  # escaped, not markup
    assert 'style="color' in p._repr_html_()  # highlighted inline (no stylesheet needed)
    md = p._repr_markdown_()
    assert md.startswith("```clevr\n" + p.to_clv() + "\n```") and "`: Int, Int`" in md


def test_scene_png_is_its_image_twice_the_size_with_a_legend(scene):
    w, h = png_size(scene._repr_png_())
    assert (h, w > 640) == (480, True)  # 320 x 240 doubled, legend panel to the right
    from clevrlang.scene import Scene

    bare = Scene(dict(scene.raw))  # no file to find its image in: boxes on grey ground
    assert bare.image_path() is None
    with Image.open(io.BytesIO(bare._repr_png_())) as im:
        assert im.size[1] == 480 and im.getpixel((2, 470)) == (128, 128, 128)


def test_trace_has_a_row_per_node_and_boxes_the_objects(scene):
    from clevrlang.trace import trace

    words = [" ".join(o[a] for a in ("size", "color", "material", "shape")) for o in scene.objects]
    one = next(w for w in words if words.count(w) == 1)  # an object its words pick out
    program = parse(f"scene() |> filter[{one}] |> unique |> relate[left] |> count")
    t = trace(program, "symbolic", scene)
    assert [s.label for s in t.steps][-3:] == ["unique", "relate[left]", "count"]
    assert len(t.steps) == 8  # scene, four filters, unique, relate, count
    assert t.answer == t.steps[-1].value
    pictured = [s.picture.shape for s in t.steps if s.picture is not None]
    assert pictured == [(120, 160, 3)] * 7  # every object-set node, at half size
    c = parsed(t._repr_html_())
    assert len(c.imgs) == 7 and png_size(inline_png(c.imgs[0])) == (160, 120)
    assert "relate[left]" in "".join(c.text) and t.answer in "".join(c.text)


def test_round_trip_shows_both_images_with_bytes_and_ssim(scene):
    from clevrlang.codecs import round_trip

    image = np.asarray(Image.open(scene.image_path()).convert("RGB"))
    rt = round_trip(image, "jpeg", 600)
    assert rt.nbytes <= 600 and 0 < rt.ssim < 1
    c = parsed(rt._repr_html_())
    assert [png_size(inline_png(i)) for i in c.imgs] == [(320, 240), (320, 240)]
    text = "".join(c.text)
    assert f"{rt.nbytes} bytes" in text and f"SSIM {rt.ssim:.3f}" in text


def test_comparison_shows_its_table_and_chart(world):
    from clevrlang.compare import run_comparison

    cmp = run_comparison(str(world), "val", backends=["symbolic"], progress=False)
    c = parsed(cmp._repr_html_())
    text = "".join(c.text)
    assert "Overall" in text and "symbolic" in text and "100.00" in text
    assert len(c.imgs) == 1 and png_size(inline_png(c.imgs[0]))[0] > 500
    assert cmp._repr_markdown_().splitlines()[0].startswith("| back end | Overall")


def test_eval_result_shows_accuracy_and_failures():
    from clevrlang.evaluation import AccuracyTable, EvalResult
    from clevrlang.runtime import Failure

    preds = ["2", Failure("unique needs exactly one object")]
    r = EvalResult("symbolic", preds, AccuracyTable.from_answers(["count"] * 2, preds, ["2", "1"]))
    text = "".join(parsed(r._repr_html_()).text)
    assert "50.00" in text and "1 question(s) could not run" in text


def test_import_clevrlang_does_not_import_ipython_or_the_display_module():
    code = "import clevrlang, sys; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert not {"IPython", "clevrlang.notebook", "clevrlang.notebook.display"} & set(out)


# ------------------------------------------------------------------------------ the magic

@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    import clevrlang

    sh = InteractiveShell.instance()
    clevrlang.load_ipython_extension(sh)  # a fresh session for every test
    return sh


def run(shell, line, cell=None):
    """Outputs (mime -> data dicts) and stdout/stderr of one magic call."""
    from IPython.utils.capture import capture_output

    with capture_output() as c:
        if cell is None:
            shell.run_line_magic(*line.split(" ", 1))
        else:
            shell.run_cell_magic("clv", line, cell)
    assert "Traceback" not in c.stdout + c.stderr
    return [o.data for o in c.outputs]


def test_load_ext_registers_the_magics():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "clevrlang")
    assert {"clv"} <= set(sh.magics_manager.magics["cell"])
    assert {"clv_scene", "clv_image", "clv_backend", "clv_ask"} <= set(
        sh.magics_manager.magics["line"])


def test_cells_share_lets_and_show_results_richly(shell, world, scene):
    out = run(shell, f"--world {world} --index 1",
              "let big = scene() |> filter[large]\nbig |> count\nbig")
    assert out[0]["text/plain"] == "big : Objects"  # the let's note
    n = sum(o["size"] == "large" for o in scene.objects)
    assert out[1]["text/plain"] == str(n)
    html = out[2]["text/html"]
    assert ": Objects" in html and len(parsed(html).imgs) == 1  # the objects boxed
    out = run(shell, "", "expect count(big) == " + str(n))  # the let from the cell before
    assert out[0]["text/plain"] == f"pass  expect count(big) == {n}"


def test_an_error_cell_shows_the_caret_message_not_a_traceback(shell, world):
    run(shell, f"--world {world}", "let n = 1")
    out = run(shell, "", "n\ncount(unique(scene()))\nn")
    assert out[0]["text/plain"] == "1"  # statements before the error ran
    message = out[1]["text/plain"]
    assert message.splitlines() == [
        "<repl>:2:7: type error: count needs Objects for its 1st input, found Object",
        "  count(unique(scene()))", "        ^~~~~~~~~~~~~~~",
        "  hint: signature: count(Objects) -> Int"]
    assert "color:#b00020" in out[1]["text/html"] and "&lt;repl&gt;" in out[1]["text/html"]
    assert len(out) == 2  # the cell stops at its error


def test_line_magics_set_the_scene_image_and_back_end(shell, world):
    scenes = world / "scenes" / "CLEVR_val_scenes.json"
    out = run(shell, f"clv_scene {scenes} --index 2")
    assert png_size(out[0]["image/png"])[1] == 480  # the scene, drawn on its image
    out = run(shell, "", "count(scene())")
    import json

    objects = json.loads(scenes.read_text())["scenes"][2]["objects"]
    assert out[0]["text/plain"] == str(len(objects))
    out = run(shell, f"clv_image {world / 'images' / 'val' / 'CLEVR_val_000000.png'}")
    assert png_size(out[0]["image/png"]) == (320, 240)
    out = run(shell, "clv_backend nope")
    assert out[0]["text/plain"].startswith("usage error: unknown back end 'nope'")
    out = run(shell, "--backend symbolic --index 0 --scene " + str(scenes), "count(scene())")
    assert out[0]["text/plain"] == str(len(json.loads(scenes.read_text())["scenes"][0]["objects"]))


def test_clv_ask_shows_the_program_and_its_answer(shell, world):
    try:
        from clevrlang.asking import default_generator

        default_generator()
    except Exception as e:  # no installed program generator
        pytest.skip(f"no default program generator ({e})")
    run(shell, f"--world {world} --index 0", "1")
    out = run(shell, 'clv_ask "How many large things are there?"')
    program = out[0]["text/plain"]  # the program as its canonical text
    assert program.startswith("scene() |> filter_size[large]") and program.endswith("count")
    assert "count" in out[0]["text/html"]
    assert out[-1]["text/plain"].isdigit()


def test_a_clevr_error_in_a_python_cell_shows_its_caret_message(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as c:
        result = shell.run_cell("from clevrlang import parse\nparse('count(unique(scene()))')")
    assert result.error_in_exec is not None
    assert c.stdout.splitlines()[-3:-1] == ["  count(unique(scene()))", "        ^~~~~~~~~~~~~~~"]
    assert "Traceback" not in c.stdout + c.stderr and "check.py" not in c.stdout
