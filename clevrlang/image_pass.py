"""The image pass: each program's own image evaluated once per batch, then one batched answer.

A question may name the image it is about: ``load("a.png") |> compress[jpeg, bytes=640] |>
scene |> count`` is ``scene(IMG)`` with IMG an Image expression (``load``, ``compress``,
``decode(encode(...))``). The back ends answer a batch as programs on ``scene()`` with one
input each, so :func:`answer` rewrites ``scene(IMG)`` to ``scene()``, evaluates every
distinct IMG once, and hands the back end IMG's value as that question's input: the learned
back end then compiles the batch into one plan and the engineered one perceives its images in
one batched detection. IR nodes are hash-consed, so the same IMG in two questions is the same
Node: the cache key, and where the size of its code is recorded (``nbytes``).

Images are evaluated per chunk of :data:`IMAGES_PER_CHUNK` distinct IMGs (questions grouped by
image), so a split's decoded images are never all in memory. A program that reads two images
(or the current one and another), or has image functions that are not ``scene``'s input
(``nbytes``, ``ssim``), runs on the back end's interpreter one at a time, with ``clevr run``'s
meaning; so does ``scene(IMG)`` on a back end that reads scene graphs.

>>> from clevrlang import parse
>>> program, image = rewrite(parse('load("a.png") |> compress[jpeg, bytes=640] |> scene '
...                                '|> count').node)
>>> program is parse("scene() |> count").node, image.label()
(True, 'compress[jpeg, bytes=640]')
>>> rewrite(parse('equal_integer(count(scene(load("a.png"))), count(scene()))').node) is None
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from clevrlang.language.errors import ExecutionError, UsageError
from clevrlang.language.ir import CONST, Node, postorder
from clevrlang.runtime import Failure, Interpreter, render

IMAGES_PER_CHUNK = 128  # distinct images decoded at once: ~60 MB at 320x240


def _is_scene(node: Node) -> bool:
    f = node.function
    return f is not None and f.family == "scene"


def substitute(root: Node, mapping: dict[Node, Node]) -> Node:
    """``root`` with each node of ``mapping`` replaced (its users rebuilt, the rest shared)."""
    new: dict[Node, Node] = {}
    for n in postorder([root]):
        if n in mapping:
            new[n] = mapping[n]
            continue
        inputs = tuple(new[i] for i in n.inputs)
        new[n] = n if inputs == n.inputs else Node.make(n.op, n.values, inputs, n.type)
    return new[root]


def reads_current_input(node: Node) -> bool:
    """Whether a program reads the current scene or image (a ``scene()`` with no input)."""
    return any(_is_scene(n) and not n.inputs for n in postorder([node]))


# One evaluation chunk of distinct programs: each entry keeps its program's nodes alive (the
# interning table is weak), and 65,536 of them held ~0.25 GB by the end of a 150,000-question
# split, so memory grew with the split.
@lru_cache(maxsize=4096)
def rewrite(node: Node) -> tuple[Node, Node | None] | None:
    """``(program, IMG)``: ``node`` with its ``scene(IMG)`` made ``scene()``; ``(node, None)``
    when it names no image; None when only an interpreter can run it (two images, or
    image functions such as ``nbytes`` left once ``scene`` no longer reads IMG)."""
    order = postorder([node])
    scenes = [n for n in order if _is_scene(n) and n.inputs]
    images = {n.inputs[0] for n in scenes}
    if len(images) > 1 or images and any(_is_scene(n) and not n.inputs for n in order):
        return None
    out = substitute(node, {n: Node.make(n.op) for n in scenes}) if scenes else node
    if any(n.op != CONST and not n.function.clevr for n in postorder([out])):
        return None
    return out, images.pop() if images else None


def with_image(node: Node, image: Node) -> Node:
    """``node`` reading ``image`` (an Image expression): its ``scene()`` made ``scene(image)``.

    >>> from clevrlang import parse
    >>> img = parse('load("a.png") |> compress[jpeg, bytes=640]').node
    >>> from clevrlang.language.program import Program
    >>> print(Program.from_node(with_image(parse("scene() |> count").node, img)).to_clv())
    load("a.png") |> compress[jpeg, bytes=640] |> scene |> count
    """
    bare = [n for n in postorder([node]) if _is_scene(n) and not n.inputs]
    return substitute(node, {n: Node.make(n.op, (), (image,)) for n in bare})


class ImageInterpreter(Interpreter):
    """Evaluates Image expressions, keeping each code's size by the node that made it."""

    name = "image"

    def __init__(self, nbytes: dict[Node, int]):
        super().__init__(None)
        self.nbytes = nbytes

    def op_codec(self, node: Node, *args):
        from clevrlang import codecs

        def keep(code):
            self.nbytes[node] = int(code.nbytes)

        return codecs.apply(node.op, node.values, args, on_code=keep)


def answer(backend, programs: Sequence, inputs: Sequence | None = None, *,
           errors: str = "raise", nbytes: dict[Node, int] | None = None,
           images_per_chunk: int = IMAGES_PER_CHUNK) -> list:
    """``backend.answer(programs, inputs)`` where a program may name its own image.

    ``inputs[i]`` (the current scene or image) is read only by programs that use
    ``scene()``; it may be None for the others (``inputs=None``: for all). ``nbytes``, when
    given, receives each code's payload size keyed by the ``compress``/``encode`` node.
    """
    if errors not in ("raise", "return"):
        raise UsageError(f"errors must be 'raise' or 'return', not {errors!r}")
    inputs = [None] * len(programs) if inputs is None else inputs
    if len(inputs) != len(programs):
        raise UsageError(f"{len(programs)} programs but {len(inputs)} inputs")
    nodes = [p if type(p) is Node else p.node for p in programs]
    plain, alone, by_image = [], [], {}
    for i, node in enumerate(nodes):
        r = rewrite(node)
        if r is None or (r[1] is not None and backend.needs != "images"):
            alone.append(i)
        elif r[1] is None:  # no input at all (``count(scene())`` with none): interpreted
            (plain if inputs[i] is not None else alone).append(i)
        else:
            by_image.setdefault(r[1], []).append(i)
    if len(plain) == len(nodes):  # nothing to rewrite: the back end as it is
        return backend.answer(programs, inputs, errors=errors)
    results: list = [None] * len(nodes)
    if plain:
        _fill(results, plain, backend.answer([programs[i] for i in plain],
                                             [inputs[i] for i in plain], errors="return"))
    groups = list(by_image.items())
    sizes: dict[Node, int] = {}
    for start in range(0, len(groups), images_per_chunk):
        _answer_chunk(backend, groups[start:start + images_per_chunk], nodes, results, sizes)
    for i in alone:
        results[i] = _interpret(backend, nodes[i], inputs[i])
    if nbytes is not None:
        nbytes.update(sizes)
    if errors == "raise":
        for i, r in enumerate(results):
            if isinstance(r, Failure):
                r.raise_for(i)
    return results


def _answer_chunk(backend, groups: list, nodes: list, results: list, sizes: dict) -> None:
    """One chunk of distinct images: each evaluated once, their questions answered in one call."""
    interp = ImageInterpreter(sizes)
    batch, programs, images = [], [], []
    for image, questions in groups:
        try:
            value = interp.value(image)
        except ExecutionError as e:  # a codec that cannot run on it: its questions fail
            _fill(results, questions, [Failure.of(e)] * len(questions))
            continue
        batch += questions
        programs += [rewrite(nodes[i])[0] for i in questions]
        images += [value] * len(questions)
    if batch:
        _fill(results, batch, backend.answer(programs, images, errors="return"))


def _interpret(backend, node: Node, context):
    """One program on the back end's interpreter (as ``clevr run`` runs it); the current
    input only where it reads it (the engineered interpreter perceives it up front)."""
    if not reads_current_input(node):
        context = None
    try:
        return render(backend.interpreter(context).value(node))
    except ExecutionError as e:
        return Failure.of(e)


def _fill(results: list, where: list[int], values: list) -> None:
    for i, v in zip(where, values):
        results[i] = v


__all__ = ["answer", "rewrite", "with_image", "substitute", "reads_current_input",
           "ImageInterpreter", "IMAGES_PER_CHUNK"]
