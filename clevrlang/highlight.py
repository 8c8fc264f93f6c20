"""A Pygments lexer for .clv, generated from the vocabulary and the grammar.

Function names, attribute values, type names and Bool words come from
:mod:`clevrlang.language.vocabulary`; the keywords (``let``, ``def``, ``expect``) are the grammar's
alphabetic literals. Adding a function to the vocabulary highlights it with no edit here.
The REPL uses :class:`ClevrReplLexer`, which also knows its ``:commands``.

>>> from pygments.token import Name
>>> (Name.Builtin, "count") in list(ClevrLexer().get_tokens("scene() |> count"))
True
"""

from __future__ import annotations

from functools import cache

from pygments.lexer import RegexLexer, bygroups, inherit, words
from pygments.token import (
    Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace,
)

from clevrlang.language.vocabulary import BOOL_WORDS, ENUMS, TYPE_NAMES, callable_names

_IDENT = r"[A-Za-z_][A-Za-z_0-9]*"


@cache
def keywords() -> tuple[str, ...]:
    """The language's keywords, read from the grammar's literal terminals (``let``...)."""
    from clevrlang.language.parser import _lark

    found = {t.pattern.value for t in _lark().terminals
             if t.pattern.type == "str" and t.pattern.value.isalpha()}
    return tuple(sorted(found))


def function_names() -> tuple[str, ...]:
    """Every callable name: the vocabulary's functions and the ``filter[...]`` macro."""
    return tuple(sorted(callable_names()))


def value_names() -> tuple[str, ...]:
    """Every enumeration value (colours, sizes, materials, shapes, relations, codecs)."""
    return tuple(sorted({v for values in ENUMS.values() for v in values}))


def _word(names) -> object:
    # Longest first so that no name shadows a longer one sharing its prefix.
    return words(sorted(names, key=len, reverse=True), prefix=r"\b", suffix=r"\b")


def _root_rules() -> list:
    return [
        (r"[ \t\f]+", Whitespace),
        (r"\\[ \t\f]*\r?\n", Text),  # the grammar's explicit line continuation
        (r"\r?\n", Whitespace),
        (r"#[^\n]*", Comment.Single),
        (r'"([^"\\\n]|\\.)*"', String.Double),
        (r"-?[0-9]+\.[0-9]*([eE][-+]?[0-9]+)?", Number.Float),
        (r"-?[0-9]+", Number.Integer),
        (r"\|>|->|==|=", Operator),
        (r"[()\[\],:]", Punctuation),
        (rf"(def)(\s+)({_IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
        (rf"(let)(\s+)({_IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
        (_word(keywords()), Keyword),
        (_word(TYPE_NAMES), Keyword.Type),
        (_word(BOOL_WORDS), Keyword.Constant),
        (_word(function_names()), Name.Builtin),
        (_word(value_names()), Name.Constant),
        (rf"({_IDENT})(\s*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
        (_IDENT, Name),
        (r".", Text),  # anything else is left for the parser to report
    ]


class ClevrLexer(RegexLexer):
    """.clv programs: ``let``/``def``/``expect``, vocabulary functions, values and types."""

    name = "clevrlang"
    aliases = ["clevr", "clv", "clevrlang"]
    filenames = ["*.clv"]
    mimetypes = ["text/x-clevrlang"]

    tokens = {"root": _root_rules()}


class ClevrReplLexer(ClevrLexer):
    """The REPL's input: .clv, plus ``:command`` at the start of an input."""

    name = "clevrlang REPL"
    aliases = ["clevr-repl"]
    filenames = []
    mimetypes = []

    tokens = {"root": [(r"^:[A-Za-z_]+", Keyword.Pseudo), inherit]}


__all__ = ["ClevrLexer", "ClevrReplLexer", "keywords", "function_names", "value_names"]
