"""The abstract syntax tree of a .clv file: frozen dataclasses that carry source spans.

Pipes are sugar and are gone here: ``a |> f[v](b)`` is the :class:`Call` ``f[v](a, b)``,
with ``piped=True`` so tools can tell how it was written.

Nodes that hold expressions compare by identity and print one level deep (``_Shallow``):
the dataclass defaults recurse through every nested node, and a program may be 10,000 deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from clevrlang.language.errors import Source, Span


class _Shallow:
    """A one-line repr for nodes that hold expressions:
    ``Call('scene() |> count' at x.clv:1:1)``."""

    __slots__ = ()

    def __repr__(self) -> str:
        text = self.span.text()
        text = text if len(text) <= 40 else text[:37] + "..."
        return f"{type(self).__name__}({text!r} at {self.span.location()})"


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


@dataclass(frozen=True, eq=False, repr=False)
class Call(_Shallow):
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


@dataclass(frozen=True, eq=False, repr=False)
class Let(_Shallow):
    name: Ident
    expr: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Def(_Shallow):
    name: Ident
    params: tuple[tuple[Ident, Ident], ...]  # (name, type name)
    returns: Ident
    body: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Expect(_Shallow):
    expr: Expr
    expected: Expr
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class ExprStmt(_Shallow):
    expr: Expr
    span: Span


Statement = Union[Let, Def, Expect, ExprStmt]


@dataclass(frozen=True, eq=False, repr=False)
class Module:
    statements: tuple[Statement, ...]
    source: Source

    def __repr__(self) -> str:
        return f"Module({len(self.statements)} statement(s) of {self.source.name})"
