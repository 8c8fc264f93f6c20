"""Recursive walks without Python recursion, so a program's depth never matters.

A walk over a tree is written as a generator that ``yield``s the generator of each recursive
call and is sent back its result -- ``x = yield self._expr(child)`` where the recursion said
``x = self._expr(child)``. :func:`run` drives it with an explicit stack, so a 10,000-deep
program costs heap, not Python's (or C's) stack, and the code still reads as the recursion
it replaces. An exception ends the whole walk (none of the walks here catches one from a
nested call).

>>> def depth(n):
...     return 0 if n == 0 else 1 + (yield depth(n - 1))
>>> run(depth(100_000))
100000

Big programs have a second cost, the cyclic garbage collector: building one allocates
several objects per token and frees none in cycles, yet the collector walks all of them
again and again as they pile up. :func:`collector_paused` holds it off while they are built.
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


def run(walk: Generator[Generator, Any, T]) -> T:
    """The value ``walk`` returns, each generator it yields run to its value first."""
    stack = [walk]
    value = None
    while True:
        try:
            nested = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value
            value = done.value
        else:
            stack.append(nested)
            value = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting still frees).

    Parsing and checking a 10,000-stage pipeline took twice as long with it running.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
