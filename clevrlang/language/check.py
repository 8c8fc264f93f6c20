"""AST -> typed IR: name resolution, type checking, ``filter[...]`` inference, ``def`` inlining.

Every error points at the text: the span of the offending argument, value or name, what
was expected and what was found, and a "did you mean" for unknown names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from clevrlang.language import deep
from clevrlang.language import syntax as S
from clevrlang.language.errors import ClevrTypeError, Span
from clevrlang.language.ir import PARAM, Node
from clevrlang.language.vocabulary import (
    ATTRIBUTE_TYPES, ATTRIBUTES, BOOL_WORDS, ENUMS, FUNCTIONS, TYPE_NAMES, Function, Type,
    FILTER_MACRO, attribute_of, callable_names, canonical_value, function_for, type_of_value,
)

_ORDINALS = ("1st", "2nd", "3rd", "4th")
_LITERAL_TYPES = {int: Type.INT, float: Type.FLOAT, str: Type.STR}


@dataclass(frozen=True)
class Root:
    """A top-level result of a program: an expression to show, or an expectation to test."""

    node: Node
    expected: object = None  # the expected Python value of an ``expect``; None otherwise
    is_expect: bool = False
    span: Span | None = None
    lets: tuple = ()  # (Node, name) of the lets written since the previous result

    @property
    def text(self) -> str:
        return self.span.text() if self.span else ""


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def _a(t: Type) -> str:
    return f"{'an' if str(t)[0] in 'AEIOU' else 'a'} {t}"


def _nth(i: int) -> str:
    return _ORDINALS[i] if i < len(_ORDINALS) else f"{i + 1}th"


class Checker:
    """Elaborates a module's statements in order; lets and defs are visible after them."""

    def __init__(self):
        self.lets: dict[str, tuple[Node, Span]] = {}
        self.defs: dict[str, S.Def] = {}
        self.def_types: dict[str, tuple[tuple[Type, ...], Type]] = {}
        self.names: list[tuple[Node, str]] = []  # let names in order, for printing back
        self.roots: list[Root] = []
        self.pending: list[tuple[Node, str]] = []  # lets since the last top-level result

    # -- statements ---------------------------------------------------------------------
    def statement(self, st) -> None:
        if isinstance(st, S.Let):
            # A let may rebind a name (later statements see the new value), so files that
            # hold many programs -- one per question -- can reuse names.
            self._fresh_name(st.name, rebind=True)
            node = self.expr(st.expr, {})
            self.lets[st.name.name] = (node, st.name.span)
            self.names.append((node, st.name.name))
            self.pending.append((node, st.name.name))
        elif isinstance(st, S.Def):
            self._define(st)
        elif isinstance(st, S.Expect):
            node = self.expr(st.expr, {})
            expected = self._expected_value(st.expected, node.type)
            self._root(Root(node, expected, True, st.span))
        else:
            self._root(Root(self.expr(st.expr, {}), None, False, st.span))

    def _root(self, root: Root) -> None:
        self.roots.append(Root(root.node, root.expected, root.is_expect, root.span,
                               tuple(self.pending)))
        self.pending = []

    def _fresh_name(self, ident: S.Ident, rebind: bool = False) -> None:
        name = ident.name
        if name in self.defs or (name in self.lets and not rebind):
            raise ClevrTypeError(f"'{name}' is already defined", ident.span,
                                 hint="names are bound once; pick another name")
        if name in callable_names() or name in TYPE_NAMES:
            raise ClevrTypeError(f"'{name}' is a built-in name and cannot be redefined",
                                 ident.span)
        if name in BOOL_WORDS:
            raise ClevrTypeError(f"'{name}' is a Bool value and cannot be used as a name",
                                 ident.span)

    def _type_name(self, ident: S.Ident) -> Type:
        t = TYPE_NAMES.get(ident.name)
        if t is None:
            raise ClevrTypeError(f"unknown type '{ident.name}'", ident.span,
                                 hint=_suggest(ident.name, TYPE_NAMES))
        return t

    def _define(self, st: S.Def) -> None:
        self._fresh_name(st.name)
        env: dict[str, Node] = {}
        types = []
        for pname, ptype in st.params:
            if pname.name in env:
                raise ClevrTypeError(f"parameter '{pname.name}' appears twice", pname.span)
            t = self._type_name(ptype)
            types.append(t)
            env[pname.name] = Node.make(PARAM, (pname.name,), (), t)
        returns = self._type_name(st.returns)
        body = self.expr(st.body, env)
        if body.type is not returns:
            raise ClevrTypeError(f"'{st.name.name}' is declared to return {returns}, "
                                 f"but its body is {body.type}", st.body.span)
        self.defs[st.name.name] = st
        self.def_types[st.name.name] = (tuple(types), returns)

    def _expected_value(self, e: S.Expr, want: Type):
        if isinstance(e, S.Literal):
            got = _LITERAL_TYPES[type(e.value)]
            if got is want or (got is Type.INT and want is Type.FLOAT):
                return e.value
            raise ClevrTypeError(f"expected {_a(want)} to compare with, found {got} {e.value!r}",
                                 e.span)
        if isinstance(e, S.Var):
            if want is Type.BOOL and e.name in BOOL_WORDS:
                return BOOL_WORDS[e.name]
            if want in ENUMS and canonical_value(e.name) in ENUMS[want]:
                return canonical_value(e.name)
            shown = {Type.BOOL: ("yes", "no")}.get(want, ENUMS.get(want, ()))
            raise ClevrTypeError(
                f"expected {_a(want)} value to compare with, found '{e.name}'", e.span,
                hint=_suggest(e.name, shown) or (f"{want} values: {', '.join(shown)}" if shown else None))
        raise ClevrTypeError("the right side of 'expect ... ==' must be a value "
                             "(a number, yes/no, or an attribute value)", e.span)

    # -- expressions --------------------------------------------------------------------
    # The walk is a generator per expression (``yield self._expr(arg, env)`` is the nested
    # call) run by deep.run: programs nest to any depth, not to Python's recursion limit.
    def expr(self, e: S.Expr, env: dict[str, Node]) -> Node:
        return deep.run(self._expr(e, env))

    def _expr(self, e: S.Expr, env: dict[str, Node]):
        if isinstance(e, S.Literal):
            return Node.const(e.value, _LITERAL_TYPES[type(e.value)])
        if isinstance(e, S.Var):
            return self._var(e, env)
        return (yield from self._call(e, env))

    def _var(self, e: S.Var, env: dict[str, Node]) -> Node:
        if e.name in env:
            return env[e.name]
        if e.name in self.lets:
            return self.lets[e.name][0]
        value = canonical_value(e.name)  # CLEVR's synonyms ("ball") stand for their value
        t = type_of_value(value)
        if t is not None:
            return Node.const(value, t)
        if e.name in BOOL_WORDS:
            return Node.const(BOOL_WORDS[e.name], Type.BOOL)
        if e.name in callable_names() or e.name in self.defs:
            raise ClevrTypeError(f"'{e.name}' is a function; call it as {e.name}(...)", e.span)
        known = list(env) + list(self.lets)
        raise ClevrTypeError(f"unknown name '{e.name}'", e.span,
                             hint=_suggest(e.name, known + list(FUNCTIONS))
                             or ("define it first with 'let'" if not known else None))

    def _call(self, e: S.Call, env: dict[str, Node]):
        name = e.func.name
        if name in self.defs:
            return (yield from self._call_def(e, env))
        if name == FILTER_MACRO:
            return (yield from self._filter_macro(e, env))
        f = FUNCTIONS.get(name)
        if f is None:
            hint = _suggest(name, list(FUNCTIONS) + list(self.defs) + [FILTER_MACRO])
            if name in self.lets or name in env:
                hint = f"'{name}' is a value, not a function"
            raise ClevrTypeError(f"unknown function '{name}'", e.func.span, hint=hint)
        values = self._values(f, e)
        inputs = yield from self._inputs(f, e, env)
        return Node.make(f.name, values, inputs)

    def _inputs(self, f: Function, e: S.Call, env):
        """The checked input nodes of ``e`` (a generator for :func:`deep.run`)."""
        args = e.args
        required = f.arity - f.optional_inputs
        if not required <= len(args) <= f.arity:
            want = f"{f.arity}" if not f.optional_inputs else f"{required} to {f.arity}"
            plural = "" if f.arity == 1 and not f.optional_inputs else "s"
            raise ClevrTypeError(f"{f.name} takes {want} input{plural}, got {len(args)}", e.span,
                                 hint=f"signature: {f.signature()}")
        nodes = []
        for i, (arg, want) in enumerate(zip(args, f.inputs)):
            node = yield self._expr(arg, env)
            if node.type is not want:
                where = "its piped input" if (e.piped and i == 0) else f"its {_nth(i)} input"
                raise ClevrTypeError(f"{f.name} needs {want} for {where}, found {node.type}",
                                     arg.span, hint=self._type_hint(want, node.type, f))
            nodes.append(node)
        return tuple(nodes)

    @staticmethod
    def _type_hint(want: Type, got: Type, f: Function) -> str:
        if want is Type.OBJECT and got is Type.OBJECTS:
            return "wrap the set in unique(...) to pick its one object"
        if want is Type.OBJECTS and got is Type.IMAGE:
            return "use scene(image) to get the objects of an image"
        return f"signature: {f.signature()}"

    def _values(self, f: Function, e: S.Call) -> tuple:
        positional = [v for v in e.values if isinstance(v, S.Words)]
        keywords = {v.key.name: v for v in e.values if isinstance(v, S.Keyword)}
        pos_params = [p for p in f.params if p.keyword is None]
        if not f.params and e.values:
            raise ClevrTypeError(f"{f.name} takes no [values]", e.values[0].span,
                                 hint=f"signature: {f.signature()}")
        if len(positional) != len(pos_params):
            span = positional[len(pos_params)].span if len(positional) > len(pos_params) else e.func.span
            raise ClevrTypeError(f"{f.name} takes {len(pos_params)} value(s) in [...], "
                                 f"got {len(positional)}", span, hint=f"signature: {f.signature()}")
        out = []
        it = iter(positional)
        for p in f.params:
            if p.keyword is not None:
                kw = keywords.pop(p.keyword, None)
                if kw is None:
                    raise ClevrTypeError(f"{f.name} needs '{p.keyword}=...' in its [values]",
                                         e.func.span, hint=f"signature: {f.signature()}")
                if kw.value <= 0:
                    raise ClevrTypeError(f"'{p.keyword}' must be positive, got {kw.value}", kw.span)
                out.append(kw.value)
                continue
            words = next(it)
            if len(words.words) != 1:
                raise ClevrTypeError(f"{f.name} takes one {p.type} here, got "
                                     f"{len(words.words)} words", words.span,
                                     hint="only filter[...] takes several values")
            out.append(self._enum_value(words.words[0], p.type, f.name))
        if keywords:
            kw = next(iter(keywords.values()))
            raise ClevrTypeError(f"{f.name} has no value named '{kw.key.name}'", kw.key.span,
                                 hint=f"signature: {f.signature()}")
        return tuple(out)

    @staticmethod
    def _enum_value(word: S.Ident, want: Type, fname: str) -> str:
        value = canonical_value(word.name)
        if value in ENUMS[want]:
            return value
        got = type_of_value(value)
        if got is not None:
            raise ClevrTypeError(f"{fname} needs {_a(want)}, but '{word.name}' is {_a(got)}",
                                 word.span, hint=f"{want} values: {', '.join(ENUMS[want])}")
        raise ClevrTypeError(f"unknown {want} value '{word.name}'", word.span,
                             hint=_suggest(word.name, ENUMS[want])
                             or f"{want} values: {', '.join(ENUMS[want])}")

    def _filter_macro(self, e: S.Call, env):
        """``filter[red cube](x)``: each value names its attribute; expands in CLEVR's order."""
        if not e.values or any(isinstance(v, S.Keyword) for v in e.values):
            raise ClevrTypeError("filter needs attribute values, e.g. filter[red cube]", e.func.span)
        chosen: dict[str, S.Ident] = {}
        for group in e.values:
            for word in group.words:
                attr = attribute_of(canonical_value(word.name))
                if attr is None:
                    every = [v for a in ATTRIBUTES for v in ENUMS[ATTRIBUTE_TYPES[a]]]
                    raise ClevrTypeError(f"'{word.name}' is not a size, color, material or shape",
                                         word.span, hint=_suggest(word.name, every))
                if attr in chosen:
                    raise ClevrTypeError(f"two {attr} values in one filter: "
                                         f"'{chosen[attr].name}' and '{word.name}'", word.span)
                chosen[attr] = word
        f_in = function_for("filter", ATTRIBUTES[0])  # every filter_* takes Objects
        (node,) = yield from self._inputs(f_in, S.Call(e.func, (), e.args, e.span, e.piped), env)
        for attr in ATTRIBUTES:
            if attr in chosen:
                node = Node.make(function_for("filter", attr).name,
                                 (canonical_value(chosen[attr].name),), (node,))
        return node

    def _call_def(self, e: S.Call, env):
        d = self.defs[e.func.name]
        types, _ = self.def_types[d.name.name]
        if e.values:
            raise ClevrTypeError(f"{d.name.name} takes no [values]", e.values[0].span)
        if len(e.args) != len(types):
            raise ClevrTypeError(f"{d.name.name} takes {len(types)} input(s), got {len(e.args)}",
                                 e.span)
        inner: dict[str, Node] = {}
        for i, (arg, (pname, _), want) in enumerate(zip(e.args, d.params, types)):
            node = yield self._expr(arg, env)
            if node.type is not want:
                raise ClevrTypeError(f"{d.name.name} needs {want} for its {_nth(i)} input "
                                     f"'{pname.name}', found {node.type}", arg.span)
            inner[pname.name] = node
        return (yield self._expr(d.body, inner))
