"""What the fuzzer (tests/test_fuzz.py) found: each input that once raised a Python exception
or a file ``clevr convert`` could not read back, pinned with the message a user now gets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clevrlang.compress.code import Code
from clevrlang.datafiles import load_questions, load_scenes
from clevrlang.images import load_image
from clevrlang.language.errors import ClevrError, ExitCode
from clevrlang.language.program import parse

from conftest import FIXTURES
from test_fuzz import _TGA, _broken_png, _code_blob, _png_header, clevr, workdir  # noqa: F401

FOUND = [  # (.clv text, what the error says); each raised a Python exception before
    ("expect scene() |> count == " + "9" * 5000, "a number of 5,000 digits is too long"),
    ('load("\\x") |> scene |> count', "bad escape in string: truncated \\xXX escape"),
    ("compress[jpeg, bytes=" + "1" * 4400 + "](load(\"a.png\"))", "digits is too long"),
    ("expect scene() |> count == 1.0e999", "a number too large for a Float"),
    ('#@ {"a": ' + "9" * 5000 + "}\nscene() |> count", "bad #@ metadata: a number of more"),
    ('#@ {"a": ' + "[" * 100_000 + "}\nscene() |> count", "bad #@ metadata: arrays or objects"),
]


@pytest.mark.parametrize("text, message", FOUND)
def test_found_front_end(workdir, text, message):
    src = workdir / "found.clv"
    src.write_text(text)
    code, err = clevr("convert", src, workdir / "found.json", "--force")
    assert code == ExitCode.BAD_INPUT and message in err and "found.clv:1:" in err


def test_strings_keep_non_ascii_characters():
    # "é" was decoded as UTF-8 bytes read as Latin-1 ("Ã©"), and printed back differently
    program = parse('load("é€") |> scene |> count')
    assert program.node.inputs[0].inputs[0].inputs[0].values == ("é€",)
    assert parse(program.to_clv()).node is program.node


def _questions(workdir, **fields) -> Path:
    q = {"program": [{"function": "scene", "inputs": [], "value_inputs": []},
                     {"function": "exist", "inputs": [0], "value_inputs": []}],
         "answer": "yes", "question": "Is there anything?", **fields}
    path = workdir / "found.json"
    path.write_text(json.dumps({"questions": [q]}))
    return path


@pytest.mark.parametrize("fields, message", [
    ({"question_index": "3"}, "question 0: 'question_index' must be an integer, found '3'"),
    ({"question": 7}, "'question' must be a string, found 7"),
    ({"answer": [1]}, "'answer' must be a string or a number, found [1]"),
    ({"question": None, "question_index": None}, None),  # null is absent
    ({"answer": "xes"}, "question 0: answer 'xes' is no Bool, the type of its program's result"),
])
def test_found_question_fields(workdir, fields, message):
    code, err = clevr("convert", _questions(workdir, **fields), workdir / "found.clv", "--force")
    if message is None:
        assert code == ExitCode.OK, err
    else:
        assert code == ExitCode.BAD_INPUT and message in err


def test_found_question_text_on_two_lines(workdir):
    # the human comment took the second line as code: the file did not convert back
    src = _questions(workdir, question="Is there\nscene() |> count")
    assert clevr("convert", src, workdir / "found.clv", "--force")[0] == ExitCode.OK
    assert clevr("convert", workdir / "found.clv", workdir / "back.json", "--force")[0] == 0
    back = json.loads((workdir / "back.json").read_text())["questions"]
    assert [q["question"] for q in back] == ["Is there\nscene() |> count"]


def test_found_question_type_of_a_non_list_program(workdir):
    path = workdir / "found.json"
    path.write_text(json.dumps({"questions": [{"program": True}]}))
    assert load_questions(path)[0].question_type is None


@pytest.mark.parametrize("text, message", [
    ('{"scenes": [' + "9" * 5000 + "]}", "found.json:1:13: data error: unreadable JSON: a "
                                         "number of more than 4,300 digits"),
    ("[" * 100_000, "found.json: data error: unreadable JSON: arrays or objects nested"),
])
def test_found_json_beyond_pythons_limits(workdir, text, message):
    path = workdir / "found.json"
    path.write_text(text)
    for read in (load_scenes, load_questions):
        with pytest.raises(ClevrError) as e:
            read(path)
        assert message in e.value.render()


@pytest.mark.parametrize("blob, message", [
    (_TGA, "cannot decode image: unknown raw mode"),
    (_broken_png(), "cannot decode image: broken PNG file"),
    (_png_header(100_000, 100_000), "cannot decode image: Image size (10000000000 pixels)"),
])
def test_found_images(workdir, blob, message):
    path = workdir / "found.png"
    path.write_bytes(blob)
    with pytest.raises(ClevrError) as e:
        load_image(path)
    assert message in e.value.message


@pytest.mark.parametrize("header", [b'{"a": ' + b"9" * 5000 + b"}", b"[" * 100_000])
def test_found_code_headers(header):
    with pytest.raises(ClevrError, match="its header is JSON too big to read"):
        Code.from_bytes(_code_blob(header, b""))


_GONE = object()


@pytest.mark.parametrize("changes, message", [
    ([(("relationships", "left", 0), [63])], "relationships['left'][0] names a missing object"),
    ([(("relationships", "left", 0), [1e30])], "relationships['left'][0] must be object indices"),
    ([(("relationships", "left", 0), [float("inf")])],
     "relationships['left'][0] must be object indices"),
    ([(("relationships",), _GONE), (("objects", 0, "3d_coords"), ["a", "b", "c"])],
     "object 0 has no '3d_coords' (3 numbers) to compute relationships"),
    ([(("relationships",), _GONE), (("objects", 0, "3d_coords"), 5)],
     "object 0 has no '3d_coords'"),
    ([(("relationships",), _GONE), (("objects", 0, "3d_coords"), [[1], [2], [3]])],
     "object 0 has no '3d_coords'"),
    ([(("relationships",), _GONE), (("directions", "left"), [1])],
     "'directions' lacks left (3 numbers each)"),
    ([(("relationships",), _GONE), (("directions",), None)], "has neither 'relationships' nor"),
    ([(("image_filename",), ["a.png"])], "'image_filename' must be a string, found ['a.png']"),
])
def test_found_scenes(workdir, changes, message):
    scenes = json.loads((FIXTURES / "clevr_v1" / "CLEVR_v1.0" / "scenes" /
                         "CLEVR_val_scenes.json").read_text())
    for path, value in changes:
        *parents, last = path
        node = scenes["scenes"][0]
        for k in parents:
            node = node[k]
        if value is _GONE:
            del node[last]
        else:
            node[last] = value
    file = workdir / "found.json"
    file.write_text(json.dumps(scenes))
    with pytest.raises(ClevrError, match=re.escape(f"scene 0: {message}")):
        load_scenes(file)
