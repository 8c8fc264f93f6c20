"""The abstract syntax tree of a .clv file: frozen dataclasses that carry source spans.

Pipes are sugar and are gone here: ``a |> f[v](b)`` is the :class:`Call` ``f[v](a, b)``,
with ``piped=True`` so tools can tell how it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from clevrlang.errors import Source, Span


@dataclass(frozen=True)
class Ident:
    name: str
    span: Span


@dataclass(frozen=True)
class Words:
    """A positional value input: one or more bare words (``red`` or ``red cube``)."""

    words: tuple[Ident, ...]
    span: Span


@dataclass(frozen=True)
class Keyword:
    """A keyword value input: ``bytes=128``."""

    key: Ident
    value: int
    span: Span


ValueArg = Union[Words, Keyword]


@dataclass(frozen=True)
class Call:
    func: Ident
    values: tuple[ValueArg, ...]
    args: tuple["Expr", ...]
    span: Span
    piped: bool = False
    has_parens: bool = True


@dataclass(frozen=True)
class Var:
    name: str
    span: Span


@dataclass(frozen=True)
class Literal:
    value: int | float | str
    span: Span


Expr = Union[Call, Var, Literal]


@dataclass(frozen=True)
class Let:
    name: Ident
    expr: Expr
    span: Span


@dataclass(frozen=True)
class Def:
    name: Ident
    params: tuple[tuple[Ident, Ident], ...]  # (name, type name)
    returns: Ident
    body: Expr
    span: Span


@dataclass(frozen=True)
class Expect:
    expr: Expr
    expected: Expr
    span: Span


@dataclass(frozen=True)
class ExprStmt:
    expr: Expr
    span: Span


Statement = Union[Let, Def, Expect, ExprStmt]


@dataclass(frozen=True)
class Module:
    statements: tuple[Statement, ...]
    source: Source
