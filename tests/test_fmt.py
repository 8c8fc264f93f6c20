"""`clevr fmt`: canonical layout that keeps comments, lets and defs; --check, --write, files."""

import doctest
import importlib
import pathlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clevrlang import parse
from clevrlang.convert import json_to_clv
from clevrlang.language.errors import ClevrSyntaxError, ClevrTypeError
from clevrlang.language.formatting import format_text
from clevrlang.language.parser import comments

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.clv"))
FIXTURE_CLV = sorted((ROOT / "tests").rglob("*.clv"))
GENERATOR = ROOT / "tests" / "fixtures" / "clevr_generator"

KEEPER = '''\
# A suite a person keeps: comments, lets and defs must all survive formatting.
#@info {"split": "val"}


let small=scene()|>filter_size[tiny]|>unique   # the small one
let green = scene()   # everything
    # then only the green ones
    |> filter[green]
    |>unique
count(filter_shape[ball](intersect(relate[front](small),   # in front of it
   relate[left](green))))  # how many?

def reds(i: Image) -> Int = i |> scene |> filter[red shiny] |> count
def how_many(o : Objects) -> Int = o
  |> count    # a def's body may be a long pipeline too
expect reds(load("images/0001.png")) == 2   # a file is a suite
expect how_many(scene()) == 9
expect scene() |> filter[red] |> exist == true
load("a\\"b.png") |> compress[conv_lstm, bytes=128] |> scene |> filter[big block] |> count
# the end
'''

KEEPER_FORMATTED = '''\
# A suite a person keeps: comments, lets and defs must all survive formatting.
#@info {"split": "val"}

let small = scene() |> filter_size[small] |> unique  # the small one
let green = scene()  # everything
    # then only the green ones
    |> filter[green]
    |> unique
# in front of it
intersect(small |> relate[front], green |> relate[left]) |> filter_shape[sphere] |> count  # how many?

def reds(i: Image) -> Int = i |> scene |> filter[red metal] |> count
def how_many(o: Objects) -> Int = o
    |> count  # a def's body may be a long pipeline too
expect load("images/0001.png") |> reds == 2  # a file is a suite
expect scene() |> how_many == 9
expect scene() |> filter[red] |> exist == yes
load("a\\"b.png") |> compress[conv_lstm, bytes=128] |> scene |> filter[large cube] |> count
# the end
'''

# (source, formatted): one rule each.
CASES = [
    ("count( scene( ) )", "scene() |> count\n"),  # canonical spacing and pipes
    ("union(scene()|>filter[red],scene())|>count", "union(scene() |> filter[red], scene()) |> count\n"),
    ("", ""),
    ("\n\n# only a comment   \n\n", "# only a comment\n"),
    ("scene() |> count\n\n\n\nscene() |> exist", "scene() |> count\n\nscene() |> exist\n"),
    ("scene()\n|> count", "scene()\n    |> count\n"),  # a broken pipeline stays broken
    ("scene() |> filter[red]\n    |> count", "scene()\n    |> filter[red]\n    |> count\n"),
    ("scene() \\\n  |> count", "scene()\n    |> count\n"),
    ("count(scene()\n)", "scene() |> count\n"),  # broken brackets are not a broken pipeline
    ("scene() |> filter_shape[ball] |> count", "scene() |> filter_shape[sphere] |> count\n"),
    ("expect scene() |> exist == true", "expect scene() |> exist == yes\n"),
    ("expect scene() |> count == 3  #@ {\"image_index\": 1}",
     "expect scene() |> count == 3  #@ {\"image_index\": 1}\n"),
    ("let big = scene() |> filter[big]\nbig |> count",  # a let named like a synonym is kept
     "let big = scene() |> filter[large]\nbig |> count\n"),
    ("count(  # why\n  scene())", "# why\nscene() |> count\n"),
    ("expect 1.50 == 1.5", "expect 1.5 == 1.5\n"),
    ("ssim(load(\"a.png\"), load(\"b.png\"))\r\n", "ssim(load(\"a.png\"), load(\"b.png\"))\n"),
]


@pytest.mark.parametrize("source, formatted", CASES)
def test_layout_rules(source, formatted):
    assert format_text(source) == formatted
    assert format_text(formatted) == formatted


def test_a_kept_file_keeps_its_comments_lets_and_defs():
    out = format_text(KEEPER, "keeper.clv")
    assert out == KEEPER_FORMATTED
    assert [c.value.rstrip() for c in comments(out)] == [c.value.rstrip() for c in comments(KEEPER)]
    before, after = parse(KEEPER), parse(out)
    assert [(r.node, r.expected) for r in before.roots] == [(r.node, r.expected) for r in after.roots]
    assert before.names == after.names


@pytest.mark.parametrize("path", EXAMPLES + FIXTURE_CLV, ids=lambda p: p.name)
def test_idempotent_on_every_clv_file(path):
    once = format_text(path.read_text(), str(path))
    assert format_text(once, str(path)) == once


@pytest.mark.parametrize("name", ["questions_generator.json", "questions_released.json"])
def test_converted_questions_are_already_formatted(name):
    text, n = json_to_clv(str(GENERATOR / name))
    assert n == 400 and format_text(text) == text  # to_clv and fmt lay programs out alike


def test_examples_pass_check(cli):
    code, out, err = cli("fmt", "--check", *EXAMPLES)
    assert (code, out) == (0, "") and f"{len(EXAMPLES)} files already formatted" in err


def test_check_prints_a_diff_and_exits_1_without_writing(cli, tmp_path):
    f = tmp_path / "a.clv"
    f.write_text("count(scene())")
    code, out, err = cli("fmt", "--check", f)
    assert code == 1
    assert out.splitlines() == [
        f"--- {f} (original)", f"+++ {f} (formatted)", "@@ -1 +1 @@", "-count(scene())",
        "\\ No newline at end of file", "+scene() |> count"]
    assert f"would reformat {f}" in err and "1 file would be reformatted" in err
    assert f.read_text() == "count(scene())"


def test_write_rewrites_changed_files_only(cli, tmp_path):
    a, b = tmp_path / "a.clv", tmp_path / "b.clv"
    a.write_text(KEEPER)
    b.write_text("scene() |> count\n")
    b_stat = b.stat()
    code, out, err = cli("fmt", "--write", a, b)
    assert (code, out) == (0, "")
    assert a.read_text() == KEEPER_FORMATTED and b.read_text() == "scene() |> count\n"
    assert b.stat().st_mtime_ns == b_stat.st_mtime_ns  # not rewritten
    assert "1 file reformatted, 1 file left unchanged" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.clv", "b.clv"]  # no temp files
    assert cli("fmt", "--check", a, b)[0] == 0


def test_several_files_print_in_order(cli, tmp_path):
    a, b = tmp_path / "a.clv", tmp_path / "b.clv"
    a.write_text("count(scene())")
    b.write_text("exist(scene())")
    assert cli("fmt", a, b) == (0, "scene() |> count\nscene() |> exist\n", "")


@pytest.mark.parametrize("bad, error", [("count(scene()", ClevrSyntaxError),
                                        ("count(scene() |> unique)", ClevrTypeError)])
def test_a_file_with_an_error_is_reported_and_not_touched(cli, tmp_path, bad, error):
    good, broken = tmp_path / "good.clv", tmp_path / "broken.clv"
    good.write_text("count(scene())")
    broken.write_text(bad)
    code, out, err = cli("fmt", "--write", broken, good)
    assert code == 3  # bad input; the other file is still formatted
    assert broken.read_text() == bad and good.read_text() == "scene() |> count\n"
    assert f"{broken}:1:" in err and error.kind in err and "Traceback" not in err
    assert "1 file reformatted, 1 file could not be formatted" in err


def test_usage_errors_exit_2(cli, tmp_path):
    f = tmp_path / "a.clv"
    f.write_text("scene() |> count\n")
    assert cli("fmt", "--check", "--write", f)[0] == 2
    assert cli("fmt")[0] == 2
    code, _, err = cli("fmt", "--check", tmp_path / "missing.clv")
    assert code == 2 and "no such file" in err


def _comment_spots(text: str) -> list[int]:
    """Offsets where a comment and a newline may go: before a `|>`, after an opening bracket
    or a comma (a newline there continues the statement), and at the end of a line."""
    spots = {i for i in range(len(text)) if text.startswith("|>", i) or text[i] == "\n"}
    spots |= {i + 1 for i, ch in enumerate(text) if ch in "([,"}
    return sorted(spots)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_comments_anywhere_survive_and_formatting_settles(data):
    spots = _comment_spots(KEEPER)
    chosen = sorted(data.draw(st.sets(st.sampled_from(spots), max_size=8)), reverse=True)
    text = KEEPER
    for n, at in enumerate(chosen):
        text = text[:at] + f"  # note {n}\n" + text[at:]
    try:
        before = parse(text)
    except (ClevrSyntaxError, ClevrTypeError):
        assume(False)
    out = format_text(text)  # raises if the meaning or the comments changed
    assert format_text(out) == out
    assert [r.node for r in parse(out).roots] == [r.node for r in before.roots]


@pytest.mark.parametrize("module", ["clevrlang.language.formatting", "clevrlang.language.printing"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_a_10000_stage_pipeline_broken_across_lines_keeps_its_layout():
    stages = ["    |> filter[red]"] * 10_000
    stages[5_000] += "  # halfway"
    text = "\n".join(["# deep", "let x = scene()", *stages, "x |> count"]) + "\n"
    assert format_text(text) == text  # already formatted: printed back unchanged, no recursion
