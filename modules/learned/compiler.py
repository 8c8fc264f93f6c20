"""Compile a batch of IR programs into one plan, and run it (or, for reference, loop).

clevr-iep runs its module network one question at a time. Here a batch of programs of any
shapes becomes one :class:`Plan`: every (image, node) pair is an *instance* (hash-consed IR
means a sub-program shared by two questions on the same image is computed once); the
instances are grouped by (depth, module token), each group is one batched module call, and
each call's inputs are gathered by index tensors from the outputs of the earlier calls that
feed it (the ``scene`` instances are rows of the stem's features). Plans are cached per
batch structure (the tuple of root nodes and image slots) and copied once to each device
they run on.

>>> from clevrlang import parse
>>> a = parse("count(filter[red](scene()))").node
>>> b = parse("exist(filter[cube](filter[red](scene())))").node
>>> plan = compile_batch([a, b], [0, 0])
>>> [(s.token, s.size) for s in plan.steps]
[('filter_color[red]', 1), ('filter_shape[cube]', 1), ('count', 1), ('exist', 1)]
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Sequence

import torch

from clevrlang.language.errors import ExecutionError
from clevrlang.language.ir import Node, postorder
from clevrlang.modules.learned.modules import ANSWER_TYPES, SCENE, module_tokens, token_of

_TOKEN_ORDER = {t: i for i, t in enumerate(module_tokens())}


class Gather:
    """Where a batch of feature maps comes from: pieces of earlier outputs, then an order.

    ``parts`` are ``(source, index)`` pairs (source -1 is the stem's features, k >= 0 is
    step k's output; index None takes the whole source); ``order`` (or None) permutes the
    concatenated pieces into place. Reading only the steps that feed a step keeps the
    backward pass proportional to the edges, not to the whole batch.
    """

    __slots__ = ("parts", "order")

    def __init__(self, parts: tuple, order):
        self.parts, self.order = parts, order

    @classmethod
    def of(cls, locs: list[tuple[int, int]], sizes: dict[int, int]) -> "Gather":
        by_source: dict[int, list[int]] = {}
        position: list[tuple[int, int]] = []
        for src, local in locs:
            rows = by_source.setdefault(src, [])
            position.append((src, len(rows)))
            rows.append(local)
        parts, offset, base = [], 0, {}
        for src, rows in by_source.items():
            base[src] = offset
            offset += len(rows)
            whole = rows == list(range(sizes[src]))
            parts.append((src, None if whole else torch.tensor(rows, dtype=torch.long)))
        order = [base[src] + k for src, k in position]
        perm = None if order == list(range(len(order))) else torch.tensor(order, dtype=torch.long)
        return cls(tuple(parts), perm)

    def to(self, device) -> "Gather":
        return Gather(tuple((s, None if i is None else i.to(device)) for s, i in self.parts),
                      None if self.order is None else self.order.to(device))

    def fetch(self, features: torch.Tensor, outs: list) -> torch.Tensor:
        pieces = []
        for src, index in self.parts:
            x = features if src < 0 else outs[src]
            pieces.append(x if index is None else x.index_select(0, index))
        x = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
        return x if self.order is None else x.index_select(0, self.order)


class Step:
    """One batched module call: ``token`` on ``inputs`` (one :class:`Gather` per input);
    ``image`` gathers each instance's stem features (for modules that see the image)."""

    __slots__ = ("token", "depth", "size", "inputs", "image")

    def __init__(self, token: str, depth: int, size: int, inputs: tuple, image: Gather):
        self.token, self.depth, self.size, self.inputs = token, depth, size, inputs
        self.image = image

    def to(self, device) -> "Step":
        return Step(self.token, self.depth, self.size, tuple(g.to(device) for g in self.inputs),
                    self.image.to(device))


class Plan:
    """A compiled batch (read-only). Not a dataclass so DDP passes it through untouched."""

    def __init__(self, n_images: int, steps: tuple, roots: Gather, kinds: torch.Tensor,
                 instances: tuple, where: tuple):
        self.n_images = n_images
        self.steps = steps
        self.roots = roots  # gathers each program's result
        self.kinds = kinds  # (n_programs,) index into ANSWER_TYPES (-1: not an answer)
        self.instances = instances  # (image slot, Node) of every instance, step order
        self.where = where  # (step or -1, row in it) of every instance
        self.device = kinds.device
        self._on: dict = {}

    def to(self, device) -> "Plan":
        """This plan with its index tensors on ``device`` (cached)."""
        device = torch.device(device)
        if device == self.device:
            return self
        key = str(device)
        if key not in self._on:
            self._on[key] = Plan(self.n_images, tuple(s.to(device) for s in self.steps),
                                 self.roots.to(device), self.kinds.to(device), self.instances,
                                 self.where)
        return self._on[key]

    def locate(self, slot: int) -> dict[Node, tuple[int, int]]:
        """node -> (step, row) of the instances on image ``slot`` (for traces)."""
        return {node: w for (s, node), w in zip(self.instances, self.where) if s == slot}


@lru_cache(maxsize=4096)  # a chunk's programs; more keeps nodes alive (see image_pass.rewrite)
def check(node: Node) -> str | None:
    """Why the learned back end cannot run ``node``'s program, or None if it can."""
    nodes = postorder([node])
    if any(n.op == SCENE and n.inputs for n in nodes):
        # clevrlang.image_pass rewrites scene(IMG) to scene() on IMG's value before a batch
        # gets here (eval, compare, the REPL); a plan has one stem input per image slot.
        return ("scene(image) with an explicit image: a plan runs scene() on each question's "
                "input; clevrlang.image_pass.answer evaluates the image and rewrites it")
    for n in nodes:
        if n.op != SCENE and token_of(n) not in _TOKEN_ORDER:
            return f"no learned module for {n.label()}"
    return None


def answer_kind(node: Node) -> int:
    """Index of the node's result type in ANSWER_TYPES, or -1 (sets and objects)."""
    return ANSWER_TYPES.index(node.type) if node.type in ANSWER_TYPES else -1


def _compile(nodes: tuple, slots: tuple) -> Plan:
    n_images = max(slots, default=-1) + 1
    key_of: dict[tuple, int] = {}  # (slot, node) -> instance number
    inst: list[tuple[int, Node]] = []
    for node, slot in zip(nodes, slots):
        message = check(node)
        if message is not None:
            raise ExecutionError(message, where=f"while compiling {node.label()}")
        for n in postorder([node]):
            if (slot, n) not in key_of and n.op != SCENE:
                key_of[(slot, n)] = len(inst)
                inst.append((slot, n))
    # Group by (depth, token): one batched call per group, in dependency order.
    order = sorted(range(len(inst)),
                   key=lambda i: (inst[i][1].depth, _TOKEN_ORDER[token_of(inst[i][1])]))
    # Instance -> (source, local row): scenes are rows of the stem's features.
    loc: dict[tuple, tuple[int, int]] = {}
    sizes: dict[int, int] = {-1: n_images}
    instances = [(slot, Node.make(SCENE)) for slot in range(n_images)]
    where = [(-1, slot) for slot in range(n_images)]
    groups: list[list[tuple[int, Node]]] = []
    for i in order:
        slot, node = inst[i]
        last = groups[-1][0][1] if groups else None
        if last is None or last.depth != node.depth or token_of(last) != token_of(node):
            groups.append([])
        groups[-1].append(inst[i])
        loc[inst[i]] = (len(groups) - 1, len(groups[-1]) - 1)

    def loc_of(slot: int, node: Node) -> tuple[int, int]:
        return (-1, slot) if node.op == SCENE else loc[(slot, node)]

    steps = []
    for k, group in enumerate(groups):
        node = group[0][1]
        sizes[k] = len(group)
        inputs = tuple(Gather.of([loc_of(s, n.inputs[j]) for s, n in group], sizes)
                       for j in range(len(node.inputs)))
        image = Gather.of([(-1, s) for s, _ in group], sizes)
        steps.append(Step(token_of(node), node.depth, len(group), inputs, image))
        instances.extend(group)
        where.extend((k, r) for r in range(len(group)))
    roots = Gather.of([loc_of(s, n) for n, s in zip(nodes, slots)], sizes)
    kinds = torch.tensor([answer_kind(n) for n in nodes], dtype=torch.long)
    return Plan(n_images, tuple(steps), roots, kinds, tuple(instances), tuple(where))


class PlanCache:
    """Plans keyed by the batch structure (roots and image slots), least recently used out."""

    def __init__(self, size: int = 64):
        self.size = size
        self._plans: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    def get(self, nodes: Sequence[Node], slots: Sequence[int]) -> Plan:
        key = (tuple(nodes), tuple(slots))
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            self.hits += 1
            return plan
        self.misses += 1
        plan = _compile(*key)
        self._plans[key] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan


_CACHE = PlanCache()


def compile_batch(nodes: Sequence[Node], slots: Sequence[int] | None = None) -> Plan:
    """The plan for programs ``nodes`` on images ``slots`` (default: image i for program i)."""
    slots = range(len(nodes)) if slots is None else slots
    return _CACHE.get(nodes, [int(s) for s in slots])


def run_plan(model, features: torch.Tensor, plan: Plan, keep: bool = False):
    """Run ``plan`` on stem ``features`` (n_images, C, H, W); returns the roots' feature maps
    (and, when ``keep``, every step's output, indexed by :meth:`Plan.locate`)."""
    if features.shape[0] < plan.n_images:
        raise ExecutionError(f"plan expects {plan.n_images} images, got {features.shape[0]}")
    mods = model.mods
    skip = model.config.image_skip
    outs: list[torch.Tensor] = []
    for step in plan.steps:
        args = [g.fetch(features, outs) for g in step.inputs]
        image = step.image.fetch(features, outs) if skip else None
        outs.append(mods[step.token](*args, image=image))
    roots = plan.roots.fetch(features, outs)
    return (roots, outs) if keep else roots


def run_loop(model, images: torch.Tensor, nodes: Sequence[Node],
             slots: Sequence[int] | None = None) -> torch.Tensor:
    """The per-question Python loop (clevr-iep's way): the reference the plan must equal.

    Runs the stem once per question and each node of each program on its own.
    """
    slots = range(len(nodes)) if slots is None else slots
    skip = model.config.image_skip
    outs = []
    for node, slot in zip(nodes, slots):
        values: dict[Node, torch.Tensor] = {}
        scene = model.stem(images[slot:slot + 1])
        for n in postorder([node]):
            if n.op == SCENE:
                values[n] = scene
            else:
                values[n] = model.mods[token_of(n)](*(values[i] for i in n.inputs),
                                                    image=scene if skip else None)
        outs.append(values[node])
    return torch.cat(outs)
