"""The programs a generator may write: their tokens, and the types that constrain decoding.

A program is written in the IR's prefix order, one token per function node with its value
inputs (``filter_color[red]``, ``relate[left]``, ``count``), read from the vocabulary's CLEVR
functions. Decoding keeps a stack of the types still expected (an answer first); a token is
allowed when its output is the type on top and the program can still be finished within
the length limit, so every finished token string is a well-typed program.

>>> from clevrlang import parse
>>> p = parse("scene() |> filter[red cube] |> count")
>>> tokens_of(p.node)
['count', 'filter_shape[cube]', 'filter_color[red]', 'scene']
>>> program_of(tokens_of(p.node)).node is p.node
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from clevrlang.asking.tokens import END, PAD, START
from clevrlang.language.errors import DataError
from clevrlang.language.ir import Node, postorder
from clevrlang.language.program import Program
from clevrlang.language.vocabulary import ENUMS, FUNCTIONS, QUESTION_TYPES, Type

#: Longest program written, in tokens (CLEVR's longest has under 30 nodes).
MAX_TOKENS = 48
#: The expectation at the start: any type a CLEVR question answers with.
ANSWER = "Answer"
ANSWER_TYPES = frozenset(FUNCTIONS[q].output for q in QUESTION_TYPES)


@dataclass(frozen=True)
class Token:
    text: str  # as Node.label() writes it
    op: str
    values: tuple[str, ...]
    inputs: tuple[Type, ...]  # required inputs (scene's image is left out)
    output: Type | None  # None for the specials


@cache
def program_tokens() -> tuple[Token, ...]:
    """Specials, then every CLEVR function with each of its value inputs, vocabulary order."""
    out = [Token(s, s, (), (), None) for s in (PAD, START, END)]
    for name, f in FUNCTIONS.items():
        if not f.clevr:
            continue
        ins = f.inputs[: len(f.inputs) - f.optional_inputs]
        if not f.params:
            out.append(Token(name, name, (), ins, f.output))
        else:  # CLEVR's functions take at most one value input
            (param,) = f.params
            out.extend(Token(f"{name}[{v}]", name, (v,), ins, f.output) for v in ENUMS[param.type])
    return tuple(out)


@cache
def token_ids() -> dict[str, int]:
    return {t.text: i for i, t in enumerate(program_tokens())}


@cache
def expectations() -> tuple:
    """What a stack entry may expect: ANSWER, then each type some token outputs."""
    types = sorted({t.output for t in program_tokens() if t.output is not None}, key=str)
    return (ANSWER, *types)


def _accepts(expected, t: Token) -> bool:
    if t.output is None:
        return False
    return t.output in ANSWER_TYPES if expected == ANSWER else t.output is expected


@cache
def min_cost() -> dict:
    """The fewest tokens that finish each expectation (``Int``: ``count scene`` is 2)."""
    cost = {e: MAX_TOKENS for e in expectations()}
    changed = True
    while changed:  # a fixpoint: costs only fall, and every type has a finite one
        changed = False
        for t in program_tokens():
            c = 1 + sum(cost[i] for i in t.inputs)
            for e in expectations():
                if _accepts(e, t) and c < cost[e]:
                    cost[e], changed = c, True
    return cost


@cache
def token_costs() -> tuple[int, ...]:
    """Per token, the fewest tokens of the subprogram it starts (PAD/START/END: 0)."""
    cost = min_cost()
    return tuple(0 if t.output is None else 1 + sum(cost[i] for i in t.inputs)
                 for t in program_tokens())


@cache
def accepts_table() -> tuple[tuple[bool, ...], ...]:
    """[expectation index][token id]: whether the token may stand where that is expected."""
    return tuple(tuple(_accepts(e, t) for t in program_tokens()) for e in expectations())


class Stack:
    """The decoding state of one program: the expected types, top last, and its length.

    ``top()`` and ``slack()`` say which tokens may come next: those accepted by the top
    whose cost is at most the slack. ``push(token)`` consumes the top and expects the
    token's inputs (first input on top, as prefix order reads them).
    """

    __slots__ = ("expected", "length", "rest")

    def __init__(self, expected=None, length=0, rest=None):
        self.expected = [expectations().index(ANSWER)] if expected is None else expected
        self.length = length
        cost = min_cost()
        exp = expectations()
        self.rest = sum(cost[exp[e]] for e in self.expected[:-1]) if rest is None else rest

    @property
    def done(self) -> bool:
        return not self.expected

    def top(self) -> int:
        return self.expected[-1]

    def slack(self) -> int:
        """Tokens the subprogram at the top may take, leaving room to finish the rest."""
        return MAX_TOKENS - self.length - self.rest

    def push(self, token_id: int) -> "Stack":
        t = program_tokens()[token_id]
        exp, cost, ids = expectations(), min_cost(), _expectation_ids()
        expected = self.expected[:-1]  # everything below the top costs self.rest
        rest = self.rest
        if t.inputs:
            rest += sum(cost[i] for i in t.inputs[1:])
            expected.extend(ids[i] for i in reversed(t.inputs))
        elif expected:
            rest -= cost[exp[expected[-1]]]
        return Stack(expected, self.length + 1, rest)


@cache
def _expectation_ids() -> dict:
    return {e: i for i, e in enumerate(expectations())}


def tokens_of(node: Node) -> list[str]:
    """The program's tokens in prefix order (a DAG is unfolded into its tree)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n.label())
        stack.extend(reversed(n.inputs))
    return out


def program_of(tokens: list[str] | list[int]) -> Program:
    """The Program a finished token string spells, read by the JSON converter (which checks
    every node's types against the vocabulary); a DataError when the string is not one
    well-typed program."""
    table = program_tokens()
    ids = token_ids()
    toks = [table[t] if isinstance(t, int) else table[ids[t]] if t in ids else None
            for t in tokens]
    if not toks or any(t is None or t.output is None for t in toks):
        raise DataError(f"not a program's token string: {' '.join(map(str, tokens))[:200]}")
    # Prefix -> CLEVR's post-order node list, iteratively: a node is written once its
    # inputs are.
    nodes: list[dict] = []
    pending: list[list] = []  # [token, input positions so far]
    for t in toks:
        pending.append([t, []])
        while pending and len(pending[-1][1]) == len(pending[-1][0].inputs):
            tok, ins = pending.pop()
            nodes.append({"function": tok.op, "inputs": ins, "value_inputs": list(tok.values)})
            if not pending:
                break
            pending[-1][1].append(len(nodes) - 1)
        else:
            continue
        if not pending:
            break
    if pending or len(nodes) != len(toks):
        raise DataError(f"not one complete program: {' '.join(t.text for t in toks)[:200]}")
    return Program.from_node(Program.from_clevr_json(nodes, where="<generated>").node)
