"""Text -> AST: the Lark LALR parser for ``grammar/clevr.lark`` and its Transformer.

>>> m = parse_module("scene() |> filter[red cube] |> count")
>>> m.statements[0].expr.func.name
'count'
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

from lark import Lark, Token, v_args
from lark.exceptions import (UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken,
                             VisitError)
from lark.visitors import Transformer_NonRecursive

from clevrlang.language import syntax as S
from clevrlang.language.deep import collector_paused
from clevrlang.language.errors import ClevrSyntaxError, Source, Span

_OPEN = {"(", "["}
_CLOSE = {")", "]"}


class _Continuations:
    """Postlexer: newlines inside brackets, or before a line starting with ``|>``, are not
    statement ends -- so long pipelines and calls can span lines."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        pending = None
        for tok in stream:
            if tok.type == "_NL":
                if depth == 0 and pending is None:
                    pending = tok
                continue
            if pending is not None:
                if tok.value != "|>":
                    yield pending
                pending = None
            if tok.value in _OPEN:
                depth += 1
            elif tok.value in _CLOSE:
                depth = max(0, depth - 1)
            yield tok
        if pending is not None:
            yield pending


@cache
def _lark() -> Lark:
    grammar = resources.files("clevrlang.grammar").joinpath("clevr.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="basic", postlex=_Continuations(),
                propagate_positions=True,
                maybe_placeholders=True)


class _ToAst(Transformer_NonRecursive):
    """One method per grammar rule; each returns a frozen syntax node with its span.

    Non-recursive: a plain Transformer recurses once per level of the tree, and a
    10,000-stage pipeline is 10,000 levels.
    """

    __visit_tokens__ = False  # no terminal has a method

    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _span(self, meta_or_tok) -> Span:
        if isinstance(meta_or_tok, Token):
            return Span(self.source, meta_or_tok.start_pos, meta_or_tok.end_pos)
        return Span(self.source, meta_or_tok.start_pos, meta_or_tok.end_pos)

    def _ident(self, tok: Token) -> S.Ident:
        return S.Ident(str(tok), self._span(tok))

    def _join(self, a: Span, b: Span) -> Span:
        return Span(self.source, min(a.start, b.start), max(a.end, b.end))

    def start(self, items):
        return S.Module(tuple(i for i in items if i is not None), self.source)

    @v_args(meta=True)
    def let_stmt(self, meta, items):
        name, expr = items
        return S.Let(self._ident(name), expr, self._span(meta))

    @v_args(meta=True)
    def def_stmt(self, meta, items):
        name, *params, returns, body = items
        params = tuple(p for p in params if p is not None)
        return S.Def(self._ident(name), params, self._ident(returns), body, self._span(meta))

    def param(self, items):
        name, type_name = items
        return (self._ident(name), self._ident(type_name))

    @v_args(meta=True)
    def expect_stmt(self, meta, items):
        expr, expected = items
        return S.Expect(expr, expected, self._span(meta))

    @v_args(meta=True)
    def expr_stmt(self, meta, items):
        return S.ExprStmt(items[0], self._span(meta))

    @v_args(meta=True)
    def pipe(self, meta, items):
        lhs, stage = items
        return S.Call(stage.func, stage.values, (lhs,) + stage.args, self._join(lhs.span, stage.span),
                      piped=True, has_parens=stage.has_parens)

    @v_args(meta=True)
    def stage(self, meta, items):
        name, values, args = items
        return S.Call(self._ident(name), values or (), args or (), self._span(meta),
                      has_parens=args is not None)

    @v_args(meta=True)
    def call(self, meta, items):
        name, values, args = items
        return S.Call(self._ident(name), values or (), args, self._span(meta))

    def args(self, items):
        return tuple(i for i in items if i is not None)

    def values(self, items):
        return tuple(items)

    @v_args(meta=True)
    def words(self, meta, items):
        return S.Words(tuple(items), self._span(meta))

    def value_word(self, items):
        return self._ident(items[0])

    @v_args(meta=True)
    def keyword(self, meta, items):
        key, value = items
        return S.Keyword(self._ident(key), self._int(value), self._span(meta))

    def var(self, items):
        return S.Var(str(items[0]), self._span(items[0]))

    def int_lit(self, items):
        return S.Literal(self._int(items[0]), self._span(items[0]))

    def _int(self, tok: Token) -> int:
        try:
            return int(tok)
        except ValueError:  # over Python's int_max_str_digits (4,300)
            raise ClevrSyntaxError(f"a number of {len(tok.lstrip('-')):,} digits is too long",
                                   self._span(tok)) from None

    def float_lit(self, items):
        value = float(items[0])
        if not math.isfinite(value):  # 1e999: no literal could write it back
            raise ClevrSyntaxError("a number too large for a Float", self._span(items[0]))
        return S.Literal(value, self._span(items[0]))

    def str_lit(self, items):
        tok = items[0]
        # Python's escapes; other characters stand for themselves (latin-1 keeps each
        # character one byte, backslashreplace writes the rest as \uXXXX for the codec).
        try:
            text = tok[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError as e:
            raise ClevrSyntaxError(f"bad escape in string: {e.reason}", self._span(tok)) from None
        return S.Literal(text, self._span(tok))


# Readable names for the parser's terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "a number", "FLOAT": "a number", "STRING": "a string",
    "_NL": "end of line", "$END": "end of input",
}

# Known-bad inputs -> the message each must produce (lark's match_examples picks the
# closest parser state). tests/test_errors.py loops over this table.
BAD_INPUT_MESSAGES: dict[str, list[str]] = {
    "missing ')' to close a call": ["count(scene()", "count(scene(", "unique(filter[red](scene())"],
    "missing ']' to close the value list": ["filter[red(scene())", "relate[left"],
    "'|>' must be followed by a function": ["scene() |>", "scene() |> |> count", "scene() |> (count)"],
    "'let' needs a name, '=' and an expression": ["let = scene()", "let x scene()", "let x ="],
    "'expect' needs 'EXPR == VALUE'": ["expect count(scene())", "expect count(scene()) = 3"],
    "a 'def' needs '(params) -> Type = body'": ["def f(x: Image) = x", "def f(x Image) -> Int = 1"],
}


def _expected_text(expected) -> str:
    lark = _lark()
    names = []
    for t in sorted(expected):
        if t in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[t])
            continue
        term = next((d for d in lark.terminals if d.name == t), None)
        if term is not None and term.pattern.type == "str":
            names.append(f"'{term.pattern.value}'")
        else:
            names.append(t.lower())
    names = sorted(set(names))
    if len(names) > 6:
        return "a new statement or the end of the line"
    if len(names) > 1:
        return "one of " + ", ".join(names)
    return names[0] if names else "something else"


def _syntax_error(err: UnexpectedInput, source: Source) -> ClevrSyntaxError:
    if isinstance(err, UnexpectedCharacters):
        # The lexer knows only that no token starts here; its "expected" is every terminal.
        found = repr(source.text[err.pos_in_stream]) if err.pos_in_stream < len(source.text) else "end"
        return ClevrSyntaxError(f"unexpected character {found}",
                                Span(source, err.pos_in_stream, err.pos_in_stream + 1))
    label = None
    try:
        label = err.match_examples(_lark().parse, BAD_INPUT_MESSAGES, use_accepts=True)
    except UnexpectedInput:  # an example that no longer fails the same way; keep the error
        label = None
    except TypeError:  # lark 1.3's own debug line fails on some states ("(red(0)("): no label
        label = None
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        msg = "unexpected end of input"
        span = Span(source, len(source.text.rstrip()), len(source.text.rstrip()))
        expected = err.expected
    else:
        tok = err.token
        shown = "end of line" if tok.type == "_NL" else repr(str(tok))
        msg = f"unexpected {shown}"
        start = tok.start_pos if tok.start_pos is not None else len(source.text)
        span = Span(source, start, start + (1 if tok.type == "_NL" else len(str(tok))))
        expected = err.accepts or err.expected
    if expected:
        msg += f"; expected {_expected_text(expected)}"
    return ClevrSyntaxError(msg, span, hint=label)


def parse_module(text: str, name: str = "<input>") -> S.Module:
    """Parse .clv text into a :class:`~.syntax.Module`; raises ClevrSyntaxError."""
    source = Source(text, name)
    with collector_paused():
        try:
            tree = _lark().parse(text)
        except UnexpectedInput as err:
            raise _syntax_error(err, source) from None
        try:
            return _ToAst(source).transform(tree)
        except VisitError as e:  # lark wraps what a rule raises (a literal out of range)
            if isinstance(e.orig_exc, ClevrSyntaxError):
                raise e.orig_exc from None
            raise


def comments(text: str) -> list[Token]:
    """The ``# ...`` comments of .clv text in order, as tokens with line, column and offset.

    The grammar ignores comments; what keeps them (``clevr fmt``, the ``#@`` metadata lines
    ``clevr convert`` writes) re-lexes with ignored tokens kept. Call it on text that parses.

    >>> [(c.value, c.line) for c in comments("# a\\nscene() |> count  # b\\n")]
    [('# a', 1), ('# b', 2)]
    """
    return [t for t in _lark().lex(text, dont_ignore=True) if t.type == "COMMENT"]
