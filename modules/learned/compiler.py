"""Compile a batch of IR programs into one plan, and run it (or, for reference, loop).

clevr-iep runs its module network one question at a time. Here a batch of programs of any
shapes becomes one :class:`Plan`: every (image, node) pair is an *instance* (hash-consed IR
means a sub-program shared by two questions on the same image is computed once); the
instances are grouped by (depth, module token), each group is one batched module call, and
inputs are gathered from / outputs written to one feature buffer by index tensors.

Rows ``[0, n_images)`` of the buffer are the stem features of the batch's images (the
``scene`` instances); each step's outputs are one contiguous row range, so a write is a
slice and only the reads need an index tensor. Plans are cached per batch structure
(the tuple of root nodes and image slots) and copied once to each device they run on.

>>> from clevrlang import parse
>>> a = parse("count(filter[red](scene()))").node
>>> b = parse("exist(filter[cube](filter[red](scene())))").node
>>> plan = compile_batch([a, b], [0, 0])
>>> [(s.token, s.stop - s.start) for s in plan.steps]
[('filter_color[red]', 1), ('count', 1), ('filter_shape[cube]', 1), ('exist', 1)]
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Sequence

import torch

from clevrlang.errors import ExecutionError
from clevrlang.ir import Node, postorder
from clevrlang.modules.learned.model import ANSWER_TYPES
from clevrlang.modules.learned.modules import SCENE, module_tokens, token_of

_TOKEN_ORDER = {t: i for i, t in enumerate(module_tokens())}


class Step:
    """One batched module call: ``token`` on rows ``inputs[k]`` -> rows ``[start, stop)``."""

    __slots__ = ("token", "depth", "start", "stop", "inputs")

    def __init__(self, token: str, depth: int, start: int, stop: int, inputs: tuple):
        self.token, self.depth, self.start, self.stop, self.inputs = token, depth, start, stop, inputs

    def to(self, device) -> "Step":
        return Step(self.token, self.depth, self.start, self.stop,
                    tuple(i.to(device) for i in self.inputs))


class Plan:
    """A compiled batch (read-only). Not a dataclass so DDP passes it through untouched."""

    def __init__(self, n_images: int, n_rows: int, steps: tuple, roots: torch.Tensor,
                 kinds: torch.Tensor, instances: tuple):
        self.n_images = n_images
        self.n_rows = n_rows
        self.steps = steps
        self.roots = roots  # (n_programs,) buffer row of each program's result
        self.kinds = kinds  # (n_programs,) index into ANSWER_TYPES (-1: not an answer)
        self.instances = instances  # (image slot, Node) of every buffer row
        self.device = roots.device
        self._on: dict = {}

    def to(self, device) -> "Plan":
        """This plan with its index tensors on ``device`` (cached)."""
        device = torch.device(device)
        if device == self.device:
            return self
        key = str(device)
        if key not in self._on:
            self._on[key] = Plan(self.n_images, self.n_rows,
                                 tuple(s.to(device) for s in self.steps), self.roots.to(device),
                                 self.kinds.to(device), self.instances)
        return self._on[key]

    def rows_of(self, slot: int) -> dict[Node, int]:
        """node -> buffer row, for the instances on image ``slot`` (for traces)."""
        return {node: row for row, (s, node) in enumerate(self.instances) if s == slot}


@lru_cache(maxsize=65536)
def check(node: Node) -> str | None:
    """Why the learned back end cannot run ``node``'s program, or None if it can."""
    for n in postorder([node]):
        if n.op == SCENE:
            if n.inputs:
                return ("scene(image) with an explicit image: the learned back end runs "
                        "scene() on the question's own image")
            continue
        if token_of(n) not in _TOKEN_ORDER:
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
    row: dict[tuple, int] = {}
    for slot in range(n_images):
        row[(slot, None)] = slot
    instances = [(slot, None) for slot in range(n_images)]
    for i in order:
        row[inst[i]] = len(instances)
        instances.append(inst[i])

    def row_of(slot: int, node: Node) -> int:
        return slot if node.op == SCENE else row[(slot, node)]

    steps = []
    start = n_images
    while start < len(instances):
        slot, node = instances[start]
        token, depth = token_of(node), node.depth
        stop = start
        while (stop < len(instances) and instances[stop][1].depth == depth
               and token_of(instances[stop][1]) == token):
            stop += 1
        group = instances[start:stop]
        inputs = tuple(torch.tensor([row_of(s, n.inputs[k]) for s, n in group], dtype=torch.long)
                       for k in range(len(node.inputs)))
        steps.append(Step(token, depth, start, stop, inputs))
        start = stop
    roots = torch.tensor([row_of(s, n) for n, s in zip(nodes, slots)], dtype=torch.long)
    kinds = torch.tensor([answer_kind(n) for n in nodes], dtype=torch.long)
    # Scene rows are recorded with the scene node itself (None was a placeholder).
    scene = Node.make(SCENE)
    instances = tuple((s, scene if n is None else n) for s, n in instances)
    return Plan(n_images, len(instances), tuple(steps), roots, kinds, instances)


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
    (and the whole buffer when ``keep``)."""
    if features.shape[0] != plan.n_images:
        raise ExecutionError(f"plan expects {plan.n_images} images, got {features.shape[0]}")
    buf = features.new_empty((plan.n_rows, *features.shape[1:]))
    buf[:plan.n_images] = features
    mods = model.mods
    for step in plan.steps:
        args = [buf.index_select(0, idx) for idx in step.inputs]
        buf[step.start:step.stop] = mods[step.token](*args)
    roots = buf.index_select(0, plan.roots)
    return (roots, buf) if keep else roots


def run_loop(model, images: torch.Tensor, nodes: Sequence[Node],
             slots: Sequence[int] | None = None) -> torch.Tensor:
    """The per-question Python loop (clevr-iep's way): the reference the plan must equal.

    Runs the stem once per question and each node of each program on its own.
    """
    slots = range(len(nodes)) if slots is None else slots
    outs = []
    for node, slot in zip(nodes, slots):
        values: dict[Node, torch.Tensor] = {}
        for n in postorder([node]):
            if n.op == SCENE:
                values[n] = model.stem(images[slot:slot + 1])
            else:
                values[n] = model.mods[token_of(n)](*(values[i] for i in n.inputs))
        outs.append(values[node])
    return torch.cat(outs)
