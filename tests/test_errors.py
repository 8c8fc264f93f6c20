"""Bad input gives one clear message with a location and a caret, exit code 1, no traceback."""

import json

import pytest

from clevrlang.parser import BAD_INPUT_MESSAGES, parse_module
from clevrlang.errors import ClevrSyntaxError

# (program text, substring of the message, line, column)
BAD_PROGRAMS = [
    ("count(scene()", "expected one of ')', ','", 1, 14),
    ("scene() |> filter[red", "expected", 1, 22),
    ("cout(scene())", "unknown function 'cout'", 1, 1),
    ("cout(scene())", "did you mean 'count'?", 1, 1),
    ("scene() |> filter[rde]", "did you mean 'red'?", 1, 19),
    ("scene() |> filter_color[cube]", "filter_color needs a Color, but 'cube' is a Shape", 1, 25),
    ("count(unique(scene()))", "count needs Objects for its 1st input, found Object", 1, 7),
    ("count(scene(), scene())", "count takes 1 input, got 2", 1, 1),
    ("relate[left](scene())", "wrap the set in unique", 1, 14),
    ("scene() |> query_color", "for its piped input, found Objects", 1, 1),
    ("expect count(scene()) == red", "expected an Int value", 1, 26),
    ("count(scene())\nexpect count(scene()) = 3", "expect", 2, 23),
    ("let count = 3", "built-in name", 1, 5),
    ("def f(i: Imag) -> Int = 3", "did you mean 'Image'?", 1, 10),
    ("def f(i: Image) -> Bool = count(scene(i))", "declared to return Bool", 1, 27),
    ("scene() |> filter[red blue]", "two color values", 1, 23),
    ("x |> count", "unknown name 'x'", 1, 1),
    ("compress[jpeg](load(\"a.png\"))", "needs 'bytes=...'", 1, 1),
    ("scene() |> count $", "unexpected character '$'", 1, 18),
    ("count(filter_color[red, blue](scene()))", "takes 1 value(s)", 1, 25),
]


@pytest.mark.parametrize("text,message,line,col", BAD_PROGRAMS)
def test_bad_program_messages(tmp_path, cli, text, message, line, col):
    f = tmp_path / "bad.clv"
    f.write_text(text)
    code, out, err = cli("check", f)
    assert code == 1
    assert f"{f}:{line}:{col}:" in err
    assert message in err
    assert "^" in err  # the caret line
    assert "Traceback" not in err + out
    assert len(err.splitlines()) <= 6  # one screen


@pytest.mark.parametrize("label,examples", sorted(BAD_INPUT_MESSAGES.items()))
def test_known_bad_inputs_get_their_hint(label, examples):
    for text in examples:
        with pytest.raises(ClevrSyntaxError) as e:
            parse_module(text, "x.clv")
        assert e.value.hint == label, text


def test_missing_file(cli, tmp_path):
    code, _, err = cli("check", tmp_path / "nope.clv")
    assert code == 1 and "no such file" in err and "Traceback" not in err


def _scenes_cases(tmp_path):
    good = {"objects": [{"color": "red", "size": "large", "material": "metal", "shape": "cube",
                         "3d_coords": [0, 0, 0.7]}],
            "relationships": {r: [[]] for r in ("left", "right", "front", "behind")}}
    no_color = json.loads(json.dumps(good))
    del no_color["objects"][0]["color"]
    bad_value = json.loads(json.dumps(good))
    bad_value["objects"][0]["shape"] = "pyramid"
    no_rel = json.loads(json.dumps(good))
    del no_rel["relationships"]
    return [
        ('{"scenes": [', "truncated JSON", True),
        ('{"scenes": [}', "invalid JSON", True),
        (json.dumps({"scenes": [no_color]}), "object 0 has no 'color'", False),
        (json.dumps({"scenes": [bad_value]}), "shape 'pyramid'", False),
        (json.dumps({"scenes": [no_rel]}), "neither 'relationships' nor 'directions'", False),
        (json.dumps({"nothing": 1}), "expected {'scenes'", False),
    ]


def test_bad_scene_files(tmp_path, cli):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    for i, (text, message, caret) in enumerate(_scenes_cases(tmp_path)):
        f = tmp_path / f"s{i}.json"
        f.write_text(text)
        code, out, err = cli("run", prog, "--scene", f)
        assert code == 1, text
        assert message in err, err
        assert str(f) in err
        assert ("^" in err) == caret
        assert "Traceback" not in err + out


def test_bad_question_files(tmp_path, cli):
    scenes = tmp_path / "s.json"
    scenes.write_text(json.dumps({"scenes": []}))
    cases = [
        ('{"questions": [{"program": [{"function": "scene", "inputs": []}, {"function": "count", '
         '"inputs": [0]}]}', "truncated JSON"),
        (json.dumps({"questions": [{"program": [{"function": "cnt", "inputs": []}]}]}),
         "'cnt' is not a CLEVR function"),
        (json.dumps({"questions": [{"program": [{"function": "count", "inputs": [3]}]}]}),
         "must name an earlier node"),
        (json.dumps({"questions": [{"program": [{"function": "scene", "inputs": []},
                                                {"function": "query_color", "inputs": [0]}]}]}),
         "query_color needs Object for input 0"),
        (json.dumps({"questions": [{"program": [{"function": "scene", "inputs": []},
                                                {"function": "filter_color", "inputs": [0],
                                                 "value_inputs": ["cube"]}]}]}),
         "needs a Color value, found 'cube'"),
    ]
    for i, (text, message) in enumerate(cases):
        f = tmp_path / f"q{i}.json"
        f.write_text(text)
        code, out, err = cli("eval", "--questions", f, "--scenes", scenes)
        assert code == 1, (text, out, err)
        assert message in err, err
        assert "Traceback" not in err + out


def test_unknown_backend(cli, tmp_path):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    code, _, err = cli("run", prog, "--backend", "symbolc")
    assert code == 1 and "did you mean 'symbolic'?" in err
