"""Fuzzing everything a user's files reach: only ClevrErrors, each fitting on one screen.

Whatever the input -- arbitrary text, near-miss programs, mutated CLEVR JSON, broken images or
Code files -- the parser, checker, formatter, JSON readers, ``clevr convert`` (through the
CLI's own ``main``), the image loader and the Code reader either succeed or raise a
:class:`~clevrlang.language.errors.ClevrError` whose ``render()`` is at most :data:`MAX_LINES` lines
and :data:`MAX_CHARS` characters. Any other exception is a bug, and so is a traceback.

CI runs a short, reproducible pass (derandomized, no example database). A longer, random run:

    CLEVR_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_fuzz.py

Inputs the fuzzer once broke the library with are kept as ``@example``s here, and as plain
tests, each with the message a user now gets, in tests/test_fuzz_found.py.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from clevrlang.cli import main
from clevrlang.compress.code import MAGIC, Code
from clevrlang.datafiles import load_questions, load_scenes
from clevrlang.images import load_image
from clevrlang.language.errors import ClevrError, ExitCode
from clevrlang.language.formatting import format_text
from clevrlang.language.parser import parse_module
from clevrlang.language.program import Program, parse
from clevrlang.language.vocabulary import (
    BOOL_WORDS, ENUMS, FUNCTIONS, TYPE_NAMES, VALUE_SYNONYMS,
)

from conftest import FIXTURES

MAX_LINES = 30
MAX_CHARS = 4096
_LONG_RUN = int(os.environ.get("CLEVR_FUZZ_EXAMPLES", "0"))
ROOT = Path(__file__).resolve().parent.parent


def fuzz(examples: int):
    """Settings for one target: ``examples`` in CI (fixed inputs), the env var's count else."""
    return settings(max_examples=_LONG_RUN or examples, deadline=None, database=None,
                    derandomize=not _LONG_RUN, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def bounded(fn, *args):
    """``fn(*args)``, or None when it raised a ClevrError that renders on one screen."""
    try:
        return fn(*args)
    except ClevrError as e:
        assert_one_screen(e.render())
        return None


def assert_one_screen(text: str) -> None:
    assert len(text.splitlines()) <= MAX_LINES and len(text) <= MAX_CHARS, text[:2000]
    assert "Traceback" not in text, text[:2000]


# -- (a) .clv text: parse, check, format ---------------------------------------------------
_PUNCT = ["(", ")", "[", "]", ",", "|>", "=", "==", "->", ":", "|", ">", "-", ".", "\\",
          "\"", "'", "#", "@", "{", "}", "*"]
_KEYWORDS = ["let", "def", "expect", "filter", "scene", "scene()", "load", "compress", "bytes"]
_NAMES = sorted(set(FUNCTIONS) | set(TYPE_NAMES) | set(BOOL_WORDS) | set(VALUE_SYNONYMS)
                | {v for vs in ENUMS.values() for v in vs} | {"x", "objs", "_", "Scene"})
_ODD = ["9" * 5000, "-0", "1e999", "1.", "-1.5e-3", "0" * 30 + "7", '"\\x"', '"\\u12"',
        '"\\N{nope}"', '"\\', '"é\\n"', "\t", "\f", "\r", "\r\n", "\\\n", "\x00", "\x1b[31m",
        "\u2028", "\ufeff", "ﬁlter", "#@ {\"image_index\": 3}", "#@info {}", "#@ {", "#@ [1]",
        "#@ {\"a\": " + "9" * 5000 + "}", "#@ " + "[" * 3000]
_SPACE = ["", " ", " ", " ", "\n", "\n\n", "  ", "\n    "]

token = st.one_of(
    st.sampled_from(_PUNCT), st.sampled_from(_KEYWORDS), st.sampled_from(_NAMES),
    st.sampled_from(_ODD), st.integers().map(str),
    st.floats(allow_nan=False).map(repr), st.text(max_size=8).map(json.dumps),
    st.text(max_size=12).map(lambda s: f'"{s}"'), st.text(max_size=20).map(lambda s: f"# {s}"),
    st.from_regex(r"[A-Za-z_][A-Za-z_0-9]{0,8}", fullmatch=True),
)
token_soup = st.lists(st.tuples(token, st.sampled_from(_SPACE)), max_size=40).map(
    lambda pairs: "".join(t + s for t, s in pairs))


def _fenced_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


@cache
def seed_programs() -> list[str]:
    """Valid .clv text: the examples, README's programs, a converted questions file."""
    texts = [p.read_text() for p in sorted((ROOT / "examples").glob("*.clv"))]
    for block in _fenced_blocks((ROOT / "README.md").read_text()):
        try:
            parse_module(block)
        except ClevrError:
            continue
        texts.append(block)
    questions = json.loads((FIXTURES / "clevr_generator" / "questions_released.json").read_text())
    for q in questions["questions"][:6]:  # as `clevr convert` writes them
        *lets, expr = Program.from_clevr_json(q["program"]).to_clv().split("\n")
        meta = json.dumps({"image_index": q["image_index"], "question": q["question"]})
        texts.append("\n".join([f"# {q['question']}", f"#@ {meta}", *lets,
                                f"expect {expr} == {q['answer']}"]) + "\n")
    return texts


@st.composite
def mutated(draw, seeds, pieces):
    """A seed cut, spliced and overwritten a few times: text that is almost right."""
    data = draw(seeds)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "delete", "insert", "duplicate", "replace"]))
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 24)))
        if op == "cut":
            data = data[:i]
        elif op == "delete":
            data = data[:i] + data[j:]
        elif op == "duplicate":
            data = data[:j] + data[i:j] + data[j:]
        else:
            data = data[:i] + draw(pieces) + data[j if op == "replace" else i:]
    return data


# One long line (errors show a window of it) and deep nesting (no walk may recurse).
long_lines = st.tuples(token_soup, st.integers(2, 400)).map(
    lambda p: p[0].replace("\n", " ") * p[1])
deep = st.tuples(st.sampled_from(["filter[red](", "unique(", "(", "count(", "union(scene(), "]),
                 st.integers(1, 3000)).map(lambda p: p[0] * p[1] + "scene()" + ")" * p[1])

clv_text = st.one_of(
    st.text(max_size=200),
    token_soup,
    mutated(st.deferred(lambda: st.sampled_from(seed_programs())), token),
    mutated(long_lines | deep, token),
)


def front_end(text: str) -> None:
    program = bounded(parse, text, "fuzz.clv")
    formatted = bounded(format_text, text, "fuzz.clv")
    if program is None:
        assert formatted is None, "the formatter accepted a file the checker refuses"
        return
    assert formatted is not None, "a file that type-checks must format"
    assert format_text(formatted, "fuzz.clv") == formatted, "formatting is not idempotent"
    again = parse(program.to_clv(), "canonical.clv")
    assert [r.node for r in again.roots] == [r.node for r in program.roots]


@fuzz(300)
@given(clv_text)
@example("expect scene() |> count == " + "9" * 5000)
@example('load("\\x")')
@example('load("\\N{nope}") |> scene |> count')
@example('load("é") |> scene |> count')
@example('#@ {"a": ' + "9" * 5000 + "}\nscene() |> count")
@example('#@ {"a": ' + "[" * 100_000 + "}\nscene() |> count")
def test_front_end(text):
    front_end(text)


# -- (b) JSON: the scene and question readers, Program.from_clevr_json, `clevr convert` ----
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
    | st.sampled_from(_NAMES),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(_NAMES), inner, max_size=5),
    max_leaves=20,
)


@cache
def seed_documents() -> dict[str, list]:
    """Small CLEVR files to mutate: a few questions or scenes of each fixture."""
    docs = {"questions": [], "scenes": []}
    for path in sorted(FIXTURES.rglob("*.json")):
        data = json.loads(path.read_text())
        kind = "questions" if "questions" in data else "scenes"
        data[kind] = data[kind][:3]
        docs[kind].append(data)
    return docs


_KEYS = ["questions", "scenes", "objects", "program", "function", "type", "inputs",
         "value_inputs", "side_inputs", "answer", "question", "question_index", "image_index",
         "image_filename", "split", "info", "relationships", "directions", "3d_coords",
         "pixel_coords", "color", "size", "material", "shape"]
# Values at the edges of what the readers check: object indices past 62 bits, numbers no
# int64 holds, NaN and infinity (json writes and reads them), vectors of the wrong shape.
near_values = st.one_of(
    st.integers(-2, 70), json_values,
    st.sampled_from([2**63, -2**63 - 1, 10**400, 1e30, 0.5, float("inf"), float("nan"), "",
                     "0", True, [], {}, [[1], [2], [3]], [1, 2], [1, "2", 3], [0, 0, 0]]),
)


def _slots(doc) -> list[tuple]:
    """Every (container, key) inside ``doc``, outermost first."""
    out, todo = [], [doc]
    while todo:
        node = todo.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for k in keys:
            out.append((node, k))
            if isinstance(node[k], (dict, list)):
                todo.append(node[k])
    return out


@st.composite
def tweaked(draw, kind: str):
    """A seed document with a few values anywhere inside it replaced, removed or added."""
    doc = copy.deepcopy(draw(st.sampled_from(seed_documents()[kind])))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(doc)
        if not slots:
            break
        parent, key = slots[draw(st.integers(0, len(slots) - 1))]
        op = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        value = copy.deepcopy(draw(near_values))  # sampled lists are shared between cases
        if op == "remove":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(_KEYS) | st.text(max_size=6))] = value
        else:
            parent[key] = value
    return json.dumps(doc).encode()


@st.composite
def byte_mutated(draw, seeds):
    """Serialized bytes truncated, flipped, deleted or overwritten with random bytes."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "delete", "insert"]))
        i = draw(st.integers(0, len(data)))
        if op == "truncate":
            del data[i:]
        elif op == "flip" and i < len(data):
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _serialized(kind):
    return st.deferred(lambda: st.sampled_from(seed_documents()[kind]).map(
        lambda d: json.dumps(d).encode()))


def json_files(kind: str):
    return st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        tweaked(kind),
        byte_mutated(_serialized(kind)),
        st.binary(max_size=64),
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def read_questions(path) -> None:
    """Every reader a question file meets: the file, each question's fields and program."""
    for q in load_questions(path):
        (q.answer, q.question_index, q.image_index, q.image_filename, q.text, q.family,
         q.question_type)
        program = bounded(lambda: q.program)
        if program is not None:
            roundtrip(program, q.raw["program"])


def roundtrip(program: Program, nodes) -> None:
    """A program read from CLEVR's JSON writes back as the same nodes (when each leads to
    the result; CLEVR writes no other) and prints as .clv text that checks to the same IR."""
    from clevrlang.language.clevr_json import normalize

    used = {k for raw in nodes for k in raw.get("inputs", [])}
    if used >= set(range(len(nodes) - 1)):
        assert program.to_clevr_json() == normalize(nodes)
    assert Program.from_clevr_json(program.to_clevr_json()).node is program.node
    assert parse(program.to_clv()).roots[0].node is program.node


def read_scenes(path) -> None:
    from clevrlang.backends import get_backend

    scenes = load_scenes(path)
    programs = [parse(t) for t in ("scene() |> count", "scene() |> filter[red] |> exist",
                                   "scene() |> unique |> relate[left] |> count")]
    for scene in scenes:
        scene.attr_masks, scene.combo_masks
        [scene.describe(i) for i in range(scene.n)]
        get_backend("symbolic").answer(programs, [scene] * len(programs))


@fuzz(150)
@given(json_files("questions"))
def test_question_reader(workdir, blob):
    path = workdir / "questions.json"
    path.write_bytes(blob)
    bounded(read_questions, path)


@fuzz(150)
@given(json_files("scenes"))
def test_scene_reader(workdir, blob):
    path = workdir / "scenes.json"
    path.write_bytes(blob)
    bounded(read_scenes, path)


program_lists = st.one_of(
    json_values,
    st.lists(st.fixed_dictionaries(
        {"function": st.sampled_from(_NAMES)},
        optional={"inputs": st.lists(st.integers(-2, 6), max_size=3) | json_values,
                  "value_inputs": st.lists(st.sampled_from(_NAMES), max_size=2) | json_values,
                  "type": st.sampled_from(_NAMES), "side_inputs": json_values}), max_size=8),
)


@fuzz(200)
@given(program_lists)
def test_program_from_clevr_json(nodes):
    program = bounded(Program.from_clevr_json, nodes, "fuzz.json")
    if program is not None:
        roundtrip(program, nodes)


def clevr(*args) -> tuple[int, str]:
    """``clevr ARGS`` in-process: its exit code and what it printed to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in args])
    assert code in set(ExitCode), code
    assert_one_screen(err.getvalue())
    return code, err.getvalue()


@fuzz(100)
@given(json_files("questions"))
def test_convert_json_to_clv_and_back(workdir, blob):
    src, clv, back = workdir / "in.json", workdir / "out.clv", workdir / "back.json"
    src.write_bytes(blob)
    code, err = clevr("convert", src, clv, "--force")
    if code == ExitCode.OK:  # what convert writes, convert reads back
        assert clevr("convert", clv, back, "--force")[0] == ExitCode.OK


@fuzz(100)
@given(clv_text)
def test_clv_commands(workdir, text):
    src, dst = workdir / "in.clv", workdir / "out.json"
    src.write_text(text, encoding="utf-8")
    checked = clevr("check", src)[0]
    converted = clevr("convert", src, dst, "--force")[0]
    # each reads the file the same way (convert also refuses what CLEVR's JSON cannot hold)
    assert converted in (checked, ExitCode.BAD_INPUT)
    assert clevr("fmt", "--check", src)[0] in (ExitCode.OK, ExitCode.FAILED, checked)


# -- (c) images and Code files ----------------------------------------------------------
@cache
def seed_images() -> list[bytes]:
    """The fixture PNGs, and one as JPEG, WebP and GIF."""
    from PIL import Image

    pngs = sorted(FIXTURES.rglob("*.png"))
    out = [p.read_bytes() for p in pngs]
    with Image.open(pngs[0]) as im:
        for fmt in ("JPEG", "WEBP", "GIF"):
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format=fmt)
            out.append(buf.getvalue())
    return out


def _png_header(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` RGB pixels, with no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def _broken_png() -> bytes:
    """A fixture PNG whose IDAT chunk's length is corrupt (Pillow: SyntaxError)."""
    png = seed_images()[0]
    at = png.index(b"IDAT")
    return png[:at - 1] + b"\x07" + png[at:]


# A TGA header of an 8-bit colour-mapped image without a map (Pillow: ValueError).
_TGA = bytes([0, 0, 1]) + bytes(5) + struct.pack("<HHHH", 0, 0, 2, 2) + bytes([8, 0]) + bytes(8)


@st.composite
def odd_images(draw):
    """Images of every mode and a shape the back ends never trained on."""
    from PIL import Image

    mode = draw(st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16", "F", "CMYK"]))
    size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    fmt = draw(st.sampled_from(["PNG", "TIFF", "BMP", "GIF", "JPEG", "WEBP", "ICO"]))
    buf = io.BytesIO()
    try:
        Image.new(mode, size).save(buf, format=fmt)
    except (OSError, ValueError, KeyError):  # a mode this format cannot store
        Image.new("RGB", size).save(buf, format=fmt)
    return buf.getvalue()


image_files = st.one_of(
    st.binary(max_size=64),
    byte_mutated(st.deferred(lambda: st.sampled_from(seed_images()))),
    odd_images(),
    # a claimed size Pillow decodes (small) or refuses as a bomb (huge), never one in between
    # that would allocate gigabytes
    st.builds(_png_header, st.integers(0, 64), st.integers(0, 64)),
    st.builds(_png_header, st.integers(2**14, 2**31 - 1), st.integers(2**14, 2**31 - 1)),
)


@fuzz(200)
@given(image_files)
@example(_png_header(100_000, 100_000))  # Pillow's decompression-bomb guard
@example(_TGA)
@example(_broken_png())
def test_image_loader(workdir, blob):
    path = workdir / "image.png"
    path.write_bytes(blob)
    image = bounded(load_image, path)
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


# Arrays a caller may hand a codec or a back end instead of a file.
arrays = st.one_of(
    npst.arrays(st.sampled_from([np.uint8, np.float32, np.int64, np.bool_]),
                npst.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)),
    npst.arrays(np.uint8, st.tuples(st.integers(0, 4), st.integers(0, 4),
                                    st.sampled_from([1, 2, 3, 4, 5]))),
    st.sampled_from([None, 3, "", [[1, 2]], b"png"]),
)


@fuzz(150)
@given(arrays)
def test_image_arrays(value):
    from clevrlang.images import as_image

    image = bounded(as_image, value)
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert image.flags.c_contiguous and min(image.shape) >= 1


def _code_blob(header, payload: bytes) -> bytes:
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    return MAGIC + struct.pack(">HI", 1, len(head)) + head + payload


_VALID_CODE = Code(name="jpeg", shape=(4, 6, 3), data=b"\x01\x02\x03", nbytes=3,
                   total_bytes=3, params={"quality": 50}).to_bytes()

code_files = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=40).map(lambda b: MAGIC + b),
    byte_mutated(st.just(_VALID_CODE)),
    st.builds(_code_blob, st.dictionaries(st.sampled_from(
        ["name", "shape", "nbytes", "total_bytes", "iterations", "bits_per_iteration",
         "params", "payload_bytes", "crc32"]), json_values), st.binary(max_size=8)),
)


@fuzz(200)
@given(code_files)
@example(_code_blob(b'{"a": ' + b"9" * 5000 + b"}", b""))
@example(_code_blob(b"[" * 100_000, b""))
def test_code_reader(blob):
    code = bounded(Code.from_bytes, blob, "fuzz.clc")
    if code is not None:
        assert Code.from_bytes(code.to_bytes()) == code
