"""Bad input gives one clear message with a location and a caret, exit code 3, no traceback;
whatever the input, the message fits on one screen."""

import json

import pytest

from clevrlang.language.errors import ClevrSyntaxError, ClevrTypeError
from clevrlang.language.parser import BAD_INPUT_MESSAGES, parse_module

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
    assert code == 3  # the input could not be read
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
    assert code == 2 and "no such file" in err and "Traceback" not in err


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
        assert code == 3, text
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
        assert code == 3, (text, out, err)
        assert message in err, err
        assert "Traceback" not in err + out


def test_unknown_backend(cli, tmp_path):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    code, _, err = cli("run", prog, "--backend", "symbolc")
    assert code == 2 and "did you mean 'symbolic'?" in err


# ---------------------------------------------------------------- bounded output (issue 23)

def _caret_pair(rendered: str) -> tuple[str, str]:
    """The excerpt line and the caret line of a rendering (each without its 2-space indent)."""
    lines = rendered.splitlines()
    i = next(i for i, line in enumerate(lines) if line.lstrip().startswith("^"))
    return lines[i - 1][2:], lines[i][2:]


def test_syntax_error_far_along_one_line_shows_a_window(tmp_path, cli):
    head = "scene()" + " |> filter[red]" * 2333  # 35,002 characters
    text = head + " " * (35_012 - len(head)) + "$" + " |> count" * 300
    f = tmp_path / "long.clv"
    f.write_text(text)
    code, out, err = cli("check", f)
    assert code == 3
    assert f"{f}:1:35013: syntax error: unexpected character '$'" in err
    excerpt, caret = _caret_pair(err)
    assert excerpt.startswith("...") and excerpt.endswith("...")
    assert len(excerpt) <= 100 and len(caret) <= 100
    assert excerpt[caret.index("^")] == "$"
    assert len(err) < 1000 and "Traceback" not in err + out


def test_window_keeps_the_caret_under_its_character():
    from clevrlang.language.errors import Source, Span

    line = "".join(chr(ord("a") + i % 26) for i in range(5000))
    src = Source(line + "\nsecond line", "x.clv")
    for at in (0, 7, 40, 60, 2500, 4940, 4960, 4999):
        excerpt, caret = _caret_pair(ClevrSyntaxError("bad", Span(src, at, at + 1)).render())
        assert len(excerpt) <= 100 and excerpt[caret.index("^")] == line[at], at
        assert excerpt.startswith("...") == (at >= 60), at  # cut only where text was left out
        assert excerpt.endswith("...") == (at <= 4940), at
    # a caret just past the end of the line (an unclosed call) stays on the line's end
    excerpt, caret = _caret_pair(ClevrSyntaxError("bad", Span(src, 5000, 5000)).render())
    assert caret.index("^") == len(excerpt) and excerpt.startswith("...")


def test_a_long_span_is_clipped_to_the_window():
    from clevrlang.language.errors import Source, Span

    src = Source("x" * 10_000 + "(" + "y" * 20_000 + ")" + "z" * 10_000)
    excerpt, caret = _caret_pair(ClevrTypeError("bad", Span(src, 10_000, 30_002)).render())
    assert excerpt[caret.index("^")] == "("
    assert caret.rstrip("~").endswith("^") and len(caret) <= len(excerpt) - 3  # before "..."
    assert set(caret.strip()) == {"^", "~"}


def test_short_lines_are_shown_whole():
    from clevrlang.language.errors import Source, Span

    src = Source("count(unique(scene()))", "q.clv")
    rendered = ClevrTypeError("needs Objects", Span(src, 6, 21)).render()
    assert rendered.splitlines()[1:] == ["  count(unique(scene()))", "        ^~~~~~~~~~~~~~~"]


def test_control_characters_neither_break_the_line_nor_shift_the_caret():
    from clevrlang.language.errors import Source, Span

    src = Source("a\tb\x0bc\x1b[31md\u2028e $", "q.clv")
    rendered = ClevrSyntaxError("bad", Span(src, src.text.index("$"), src.text.index("$") + 1))
    lines = rendered.render().splitlines()
    assert len(lines) == 3 and "\x1b" not in rendered.render()
    excerpt, caret = _caret_pair(rendered.render())
    assert excerpt[caret.index("^")] == "$"


def test_messages_that_embed_huge_values_are_bounded():
    from clevrlang.language.errors import DataError, shown

    e = DataError(f"object 0 has shape {shown('p' * 100_000)}", where="s.json",
                  hint="x" * 50_000 + "\n" * 100)
    rendered = e.render()
    assert len(rendered) < 2000 and len(rendered.splitlines()) <= 30
    assert "characters]..." in rendered and rendered.startswith("s.json: data error: object 0")
    assert "\x1b" not in DataError("shape '\x1b[31mred'").render()  # no terminal codes
    # a short message is shown whole
    assert DataError("a" * 300).render() == "data error: " + "a" * 300


def test_truncated_one_line_questions_file(tmp_path, cli):
    q = {"question": "How many red things are there?", "answer": "2", "image_index": 0,
         "program": [{"function": "scene", "inputs": []}, {"function": "count", "inputs": [0]}]}
    text = json.dumps({"questions": [q] * 4000})[:400_000]
    with pytest.raises(json.JSONDecodeError) as decode:
        json.loads(text)
    f = tmp_path / "questions.json"
    f.write_text(text)
    scenes = tmp_path / "scenes.json"
    scenes.write_text(json.dumps({"scenes": []}))
    code, out, err = cli("eval", "--questions", f, "--scenes", scenes)
    assert code == 3
    assert len(err.encode()) < 2048, len(err)
    assert str(decode.value) in err  # "Unterminated string starting at: line 1 column ..."
    assert "truncated JSON" in err and "Traceback" not in err + out
    excerpt, caret = _caret_pair(err)
    assert excerpt[caret.index("^")] == text[decode.value.pos]


def test_invalid_json_inside_a_long_line_points_at_it(tmp_path, cli):
    text = json.dumps({"scenes": [{"objects": []}] * 20_000})
    at = len(text) // 2
    at = text.index("[", at)
    text = text[:at] + "!" + text[at + 1:]
    f = tmp_path / "s.json"
    f.write_text(text)
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    code, _, err = cli("run", prog, "--scene", f)
    assert code == 3 and "invalid JSON: Expecting value: line 1 column" in err
    excerpt, caret = _caret_pair(err)
    assert excerpt[caret.index("^")] == "!" and excerpt.startswith("...")
    assert excerpt.endswith("...") and len(err) < 1000
