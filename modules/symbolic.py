"""The symbolic back end's interpreter: exact execution of the IR on a CLEVR scene graph.

Two executors share the same meaning:

* :class:`SceneInterpreter` walks one program on one scene (used by ``clevr run``, traces,
  and by the engineered back end on its *predicted* scenes);
* :func:`clevrlang.modules.symbolic_plan.execute` answers a whole batch of programs over a
  batch of scenes at once, vectorised with NumPy over bitmask object sets -- the fast path
  behind :class:`~clevrlang.modules.symbolic_plan.SymbolicBackend`, which lives beside it
  (the plan asks this interpreter why a question failed, so the dependency runs that way).

Values: an object set is an int bitmask, an object its index, attributes their names.
"""

from __future__ import annotations

from clevrlang.errors import ExecutionError
from clevrlang.ir import Node
from clevrlang.runtime import Interpreter, render
from clevrlang.scene import Scene
from clevrlang.vocabulary import ATTRIBUTES, RELATIONS


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


class SceneInterpreter(Interpreter):
    """One program on one :class:`Scene` (``context``). One method per function family."""

    name = "symbolic"

    def scene_of(self, node: Node, image) -> Scene:
        """The scene ``scene(image)`` describes: for symbolic, the ground truth of an image
        that lives in a CLEVR world folder. Perception back ends override this."""
        from clevrlang.images import world_scene_of

        scene = world_scene_of(image)
        if scene is None:
            raise ExecutionError("the symbolic back end reads scene graphs: this image has no "
                                 "ground-truth scene (load it from a world's images/<split>/ "
                                 "folder, or use a perception back end)")
        return scene

    def op_scene(self, node: Node, image=None) -> int:
        scene = self.context if image is None else self.scene_of(node, image)
        if not isinstance(scene, Scene):
            raise ExecutionError("no current scene: give --scene (or --image with a "
                                 "perception back end)")
        self.context = scene
        return (1 << scene.n) - 1

    def _attr(self, node: Node) -> int:
        return ATTRIBUTES.index(node.function.attribute)

    def op_filter(self, node: Node, objs: int) -> int:
        a = self._attr(node)
        from clevrlang.vocabulary import ATTRIBUTE_TYPES, ENUMS

        code = ENUMS[ATTRIBUTE_TYPES[ATTRIBUTES[a]]].index(node.values[0])
        return objs & int(self.context.attr_masks[a, code])

    def op_unique(self, node: Node, objs: int) -> int:
        ids = _bits(objs)
        if len(ids) != 1:
            raise ExecutionError(f"unique needs exactly one object, found {len(ids)}"
                                 + (f" ({', '.join(f'#{i}' for i in ids)})" if ids else ""))
        return ids[0]

    def op_relate(self, node: Node, obj: int) -> int:
        return int(self.context.relate[RELATIONS.index(node.values[0]), obj])

    def op_set(self, node: Node, a: int, b: int) -> int:
        return a | b if node.op == "union" else a & b

    def op_count(self, node: Node, objs: int) -> int:
        return objs.bit_count()

    def op_exist(self, node: Node, objs: int) -> bool:
        return objs != 0

    def op_query(self, node: Node, obj: int) -> str:
        return self.context.objects[obj][node.function.attribute]

    def op_same(self, node: Node, obj: int) -> int:
        a = self._attr(node)
        codes = self.context.codes
        mask = 0
        for j in range(self.context.n):
            if j != obj and codes[j, a] == codes[obj, a]:
                mask |= 1 << j
        return mask

    def op_equal(self, node: Node, a, b) -> bool:
        return a == b

    def op_compare(self, node: Node, a: int, b: int) -> bool:
        if node.op == "less_than":
            return a < b
        if node.op == "greater_than":
            return a > b
        return a == b

    def describe(self, node: Node, value) -> str:
        """A node's value for traces: object sets with ids and attributes."""
        from clevrlang.vocabulary import Type

        if node.type is Type.OBJECTS:
            ids = _bits(value)
            return "{" + ", ".join(self.context.describe(i) for i in ids) + "}"
        if node.type is Type.OBJECT:
            return self.context.describe(value)
        return render(value)
