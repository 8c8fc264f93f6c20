"""The Pygments lexer: generated from the vocabulary, and it never fails on real programs."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

import clevrlang.highlight
from clevrlang.highlight import ClevrLexer, ClevrReplLexer, keywords
from clevrlang.language.vocabulary import ENUMS, FUNCTIONS, TYPE_NAMES

ROOT = Path(__file__).resolve().parents[1]


def tokens(text, lexer=ClevrLexer):
    return [(t, v) for t, v in lexer().get_tokens(text) if v.strip()]


def test_docstring_example_runs():
    result = doctest.testmod(clevrlang.highlight)
    assert result.attempted > 0 and result.failed == 0


def test_keywords_come_from_the_grammar():
    assert keywords() == ("def", "expect", "let")


@pytest.mark.parametrize("name", sorted(FUNCTIONS) + ["filter"])
def test_every_function_is_a_builtin(name):
    assert tokens(f"x |> {name}")[-1] == (Name.Builtin, name)


def test_every_value_and_type_has_its_token():
    for values in ENUMS.values():
        for v in values:
            assert tokens(f"f[{v}]")[2] == (Name.Constant, v)
    for t in TYPE_NAMES:
        assert (Keyword.Type, t) in tokens(f"def f(x: {t}) -> Int = 1")


def test_a_statement_of_each_kind():
    text = ('let s = scene() |> filter[red]  # reds\n'
            'def n(o: Objects) -> Int = o |> count\n'
            'expect n(s) == 2\n'
            'load("a.png") |> compress[jpeg, bytes=128] |> ssim(load("b.png")) == 0.5\n'
            'expect exist(s) == yes\n')
    got = tokens(text)
    for want in [(Keyword.Declaration, "let"), (Name.Variable, "s"), (Comment.Single, "# reds"),
                 (Keyword.Declaration, "def"), (Name.Function, "n"), (Keyword.Type, "Objects"),
                 (Operator, "->"), (Keyword, "expect"), (Operator, "=="), (Number.Integer, "2"),
                 (String.Double, '"a.png"'), (Name.Attribute, "bytes"), (Number.Float, "0.5"),
                 (Keyword.Constant, "yes"), (Operator, "|>"), (Name, "o")]:
        assert want in got, want


def test_longer_names_are_not_split():
    assert tokens("counts scene_graph redder") == [(Name, "counts"), (Name, "scene_graph"),
                                                   (Name, "redder")]


@pytest.mark.parametrize("path", sorted(ROOT.glob("examples/**/*.clv")), ids=str)
def test_example_programs_lex_without_errors(path):
    assert not [v for t, v in ClevrLexer().get_tokens(path.read_text()) if t is Error]


def test_the_repl_lexer_knows_commands():
    assert tokens(":trace scene() |> count", ClevrReplLexer)[0] == (Keyword.Pseudo, ":trace")
    assert (Keyword.Pseudo, ":trace") not in tokens(":trace scene()")  # not in .clv files


def test_pygments_finds_it_by_alias_once_registered():
    from pygments.lexers import find_lexer_class_by_name
    from pygments.util import ClassNotFound

    try:
        assert find_lexer_class_by_name("clevr") is ClevrLexer
    except ClassNotFound:
        pytest.skip("the pygments.lexers entry point is not installed in this environment")
