"""The symbolic back end's interpreter: exact execution of the IR on a CLEVR scene graph.

Two executors run the same kernels (:mod:`clevrlang.language.semantics`, each function's meaning
written once):

* :class:`SceneInterpreter` walks one program on one scene (used by ``clevr run``, traces,
  and by the engineered back end on its *predicted* scenes);
* :func:`clevrlang.modules.symbolic_plan.execute` answers a whole batch of programs over a
  batch of scenes at once, vectorised with NumPy over bitmask object sets -- the fast path
  behind :class:`~clevrlang.modules.symbolic_plan.SymbolicBackend`, which lives beside it
  (the plan asks this interpreter why a question failed, so the dependency runs that way).

Values: an object set is an int bitmask, an object its index, attributes their names.
"""

from __future__ import annotations

from clevrlang.language import semantics
from clevrlang.language.errors import ExecutionError
from clevrlang.language.ir import Node
from clevrlang.runtime import Interpreter, render
from clevrlang.scene import Scene


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


class SceneInterpreter(Interpreter):
    """One program on one :class:`Scene` (``context``): the kernels of
    :mod:`clevrlang.language.semantics`, plus the current scene and why unique failed."""

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
        return semantics.apply(node.function, self._scene_row())

    def call(self, node: Node, args: list):
        # Every CLEVR function but scene (which sets the current scene) is its kernel in
        # clevrlang.language.semantics on the current scene's lookup row.
        f = node.function
        if f is None or not f.clevr or f.family == "scene":
            return super().call(node, args)
        value = semantics.evaluate(f, self._scene_row(), node.values, args)
        if value is None:
            ids = _bits(args[0])
            raise ExecutionError(f"unique needs exactly one object, found {len(ids)}"
                                 + (f" ({', '.join(f'#{i}' for i in ids)})" if ids else ""))
        return value

    _row_of = None  # the scene _row was read from

    def _scene_row(self) -> list[int]:
        if self._row_of is not self.context:
            self._row, self._row_of = semantics.scene_row(self.context), self.context
        return self._row

    def describe(self, node: Node, value) -> str:
        """A node's value for traces: object sets with ids and attributes."""
        from clevrlang.language.vocabulary import Type

        if node.type is Type.OBJECTS:
            ids = _bits(value)
            return "{" + ", ".join(self.context.describe(i) for i in ids) + "}"
        if node.type is Type.OBJECT:
            return self.context.describe(value)
        return render(value)
