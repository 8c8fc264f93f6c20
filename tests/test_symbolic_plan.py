"""The batched plan answers exactly as the per-node interpreter, on any program and scene.

Random well-typed programs of every CLEVR function (roots of every result type, failing
``unique``s anywhere, shared sub-programs, constants) on random scenes (none to 40
objects, wider than the plan's 16-object padding), and 10,000-deep programs.
"""

import random

import pytest

from clevrlang.language.errors import ExecutionError, UsageError
from clevrlang.language.ir import Node
from clevrlang.language.program import Program
from clevrlang.language.vocabulary import ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, RELATIONS, Type
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.modules.symbolic_plan import execute, program_table
from clevrlang.runtime import Failure, render
from clevrlang.scene import Scene

DIRECTIONS = {"behind": [-0.78, 0.62, 0.0], "front": [0.78, -0.62, 0.0],
              "left": [-0.62, -0.78, 0.0], "right": [0.62, 0.78, 0.0]}
ATTR_OF = {ATTRIBUTE_TYPES[a]: a for a in ATTRIBUTES}


def random_scene(rng: random.Random, n: int, index: int) -> Scene:
    objects = [{a: rng.choice(ENUMS[ATTRIBUTE_TYPES[a]]) for a in ATTRIBUTES}
               | {"3d_coords": [rng.uniform(-3, 3), rng.uniform(-3, 3), 0.35]}
               for _ in range(n)]
    return Scene({"objects": objects, "directions": DIRECTIONS}, index)


class Programs:
    """Random programs of a given type; sub-programs are reused to make DAGs."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.made: dict[Type, list[Node]] = {}

    def __call__(self, t: Type, depth: int) -> Node:
        pool = self.made.setdefault(t, [])
        if pool and self.rng.random() < 0.15:
            return self.rng.choice(pool)  # shared: the same node used twice
        node = self._fresh(t, depth)
        pool.append(node)
        return node

    def _fresh(self, t: Type, depth: int) -> Node:
        r, mk, d = self.rng, Node.make, depth - 1
        leaf = depth <= 0
        if t is Type.OBJECTS:
            k = 0 if leaf else r.randrange(5)
            if k == 0:
                return mk("scene")
            if k == 1:
                a = r.choice(ATTRIBUTES)
                return mk(f"filter_{a}", (r.choice(ENUMS[ATTRIBUTE_TYPES[a]]),),
                          (self(Type.OBJECTS, d),))
            if k == 2:
                return mk("relate", (r.choice(RELATIONS),), (self(Type.OBJECT, d),))
            if k == 3:
                return mk(r.choice(["union", "intersect"]),
                          inputs=(self(Type.OBJECTS, d), self(Type.OBJECTS, d)))
            return mk(f"same_{r.choice(ATTRIBUTES)}", inputs=(self(Type.OBJECT, d),))
        if t is Type.OBJECT:
            return mk("unique", inputs=(self(Type.OBJECTS, d),))
        if t is Type.INT:
            if leaf or r.random() < 0.2:
                return Node.const(r.choice([0, 1, 2, 3, 7, 70, 10**12, -5]), Type.INT)
            return mk("count", inputs=(self(Type.OBJECTS, d),))
        if t is Type.BOOL:
            k = r.randrange(4)
            if k == 0 or leaf:
                return mk("exist", inputs=(self(Type.OBJECTS, d),))
            if k == 1:
                return mk(r.choice(["equal_integer", "less_than", "greater_than"]),
                          inputs=(self(Type.INT, d), self(Type.INT, d)))
            if k == 2:
                return mk("equal_object", inputs=(self(Type.OBJECT, d), self(Type.OBJECT, d)))
            a = r.choice(ATTRIBUTES)
            at = ATTRIBUTE_TYPES[a]
            return mk(f"equal_{a}", inputs=(self(at, d), self(at, d)))
        # an attribute value
        if leaf or r.random() < 0.2:
            return Node.const(r.choice(ENUMS[t]), t)
        return mk(f"query_{ATTR_OF[t]}", inputs=(self(Type.OBJECT, d),))


def interpreted(node: Node, scene: Scene):
    """What the plan must give: the interpreter's answer, or its failure."""
    try:
        v = SceneInterpreter(scene).value(node)
    except ExecutionError as e:
        return Failure(e.message, e.where.removeprefix("while executing "))
    if node.type is Type.OBJECT:
        return f"#{v}"
    if node.type is Type.OBJECTS:
        return "{" + ", ".join(f"#{i}" for i in range(64) if v >> i & 1) + "}"
    return render(v)


ROOT_TYPES = [Type.OBJECTS, Type.OBJECT, Type.INT, Type.BOOL, Type.COLOR, Type.SIZE,
              Type.MATERIAL, Type.SHAPE]


@pytest.mark.parametrize("seed", range(4))
def test_random_programs_equal_the_interpreter(seed):
    rng = random.Random(seed)
    scenes = [random_scene(rng, n, i) for i, n in enumerate([0, 1, 3, 6, 10, 10, 17, 40])]
    make = Programs(rng)
    roots = [make(rng.choice(ROOT_TYPES), rng.randrange(1, 9)) for _ in range(300)]
    batch = [(r, rng.choice(scenes)) for r in roots for _ in range(2)]
    got = execute([r for r, _ in batch], [s for _, s in batch])
    want = [interpreted(r, s) for r, s in batch]
    assert got == want
    assert sum(isinstance(w, Failure) for w in want) > 50  # failures are exercised
    assert len({w for w in want if isinstance(w, str)}) > 25  # and many answers


def test_programs_and_nodes_mix_and_are_cached_per_program(gen_fixture):
    scenes, questions, _ = gen_fixture
    programs = [q.program for q in questions[:50]]
    inputs = [scenes[q.image_index] for q in questions[:50]]
    mixed = [p if i % 2 else p.node for i, p in enumerate(programs)]
    assert execute(mixed, inputs) == execute(programs, inputs) == [q.answer for q in
                                                                   questions[:50]]
    two = Program(programs[0].roots + programs[1].roots)
    with pytest.raises(UsageError, match="2 results"):
        execute([two], [scenes[0]])


def _deep_chain(depth: int) -> Node:
    """scene() |> filter_color[red] |> filter_color[blue] |> ... (no two fuse)."""
    node = Node.make("scene")
    for i in range(depth):
        node = Node.make("filter_color", (["red", "blue"][i % 2],), (node,))
    return node


def _deep_relations(depth: int) -> Node:
    """unique |> relate |> union(., scene() |> filter) |> ... : every family at depth."""
    node = Node.make("scene")
    small = Node.make("filter_size", ("small",), (Node.make("scene"),))
    for i in range(depth):
        one = Node.make("unique", inputs=(Node.make("filter_shape", ("cube",), (node,)),))
        node = Node.make("union", inputs=(Node.make("relate", (RELATIONS[i % 4],), (one,)),
                                          small))
    return Node.make("count", inputs=(node,))


def test_ten_thousand_deep_programs_run():
    rng = random.Random(7)
    scene = random_scene(rng, 6, 0)
    chain = Node.make("exist", inputs=(_deep_chain(10_000),))
    rel = _deep_relations(3_400)  # 4 nodes a level: 13,601 nodes
    assert len(program_table(chain)) == 10_001  # scene() fuses into the first filter
    roots = [chain, rel, Node.make("count", inputs=(_deep_chain(10_001),))]
    got = execute(roots, [scene] * 3)
    assert got == [interpreted(r, scene) for r in roots]
    assert got[0] == "no" and got[2] == "0"
