"""``get_backend("engineered")``: hand-built perception, then exact symbolic reasoning.

An image becomes a predicted scene graph (:mod:`.perception`: YOLO boxes, SVM attributes,
back-projected positions, CLEVR's relations), which the symbolic executor answers on --
a whole batch of programs in one vectorised plan. ``interpreter(image)`` gives the
step-by-step interpreter for runs and traces: ``scene()`` and ``scene(image)`` both perceive.

>>> from clevrlang import parse
>>> from clevrlang.world.render import render
>>> from clevrlang.world.scenes import make_scene
>>> image = render(make_scene(0, 1), 160, 120).image
>>> backend = EngineeredBackend()  # ~15 s on a CPU  # doctest: +SKIP
>>> backend.answer([parse("count(scene())")], [image])  # doctest: +SKIP
['7']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from clevrlang.backends import Backend, Capabilities
from clevrlang.images import as_image
from clevrlang.language.errors import DataError, ExecutionError, UsageError
from clevrlang.language.ir import Node
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.runtime import Failure
from clevrlang.scene import Scene


def _one(node: Node, scene: Scene):
    """One question by the interpreter: its answer string, or a Failure naming the node."""
    from clevrlang.runtime import render

    try:
        return render(SceneInterpreter(scene).value(node))
    except ExecutionError as e:
        return Failure.of(e)


class EngineeredInterpreter(SceneInterpreter):
    """The symbolic interpreter on perceived scenes; ``predicted`` keeps the last one."""

    name = "engineered"

    def __init__(self, backend: EngineeredBackend, image=None):
        self.backend = backend
        self.predicted: dict | None = None
        self.image = image
        scene = None
        if image is not None and not isinstance(image, Scene):
            scene = self.scene_of(None, image)
        super().__init__(scene if scene is not None else image)

    def scene_of(self, node: Node | None, image) -> Scene:
        self.image = image
        self.predicted = self.backend.perceive([image])[0]
        return Scene(self.predicted, where="predicted scene")

    def draw(self, path) -> Path:
        """``clevr run --show``: the last perceived image with its detections and attributes."""
        if self.predicted is None or self.image is None:
            raise UsageError("nothing to draw: run a question on an image first")
        return self.backend.draw(self.image, self.predicted, path)


class EngineeredBackend(Backend):
    """YOLO + SVM perception and the symbolic executor (``needs = "images"``).

    ``model``: an artefact folder made by ``clevr train engineered`` (default: the one
    installed with the package). ``device``: ``auto``, ``cpu`` or ``cuda``.
    """

    name = "engineered"
    capabilities = Capabilities(needs="images", draw=True)

    def __init__(self, model: str | os.PathLike | None = None, device: str = "auto"):
        from clevrlang.modules.engineered.artefacts import default_dir
        from clevrlang.modules.engineered.perception import Perception

        folder = Path(model) if model is not None else default_dir()
        self.perception = Perception.load(folder, device)
        self.model = folder

    # -- perception --------------------------------------------------------------------------
    def perceive(self, images, cameras=None) -> list[dict]:
        """Predicted scene dicts (CLEVR's format) for RGB images or image files."""
        return self.perception.perceive([as_image(im, DataError) for im in images], cameras)

    def draw(self, image, predicted_scene: dict, path: str | os.PathLike, scale: int = 2) -> Path:
        """Write a PNG of ``image`` with each detection's box, index and predicted attributes."""
        from clevrlang.modules.engineered.drawing import draw_scene

        return draw_scene(as_image(image, DataError), predicted_scene, path, scale)

    # -- the back-end protocol ---------------------------------------------------------------
    def answer(self, programs: Sequence, images: Sequence, *, errors: str = "raise") -> list:
        """CLEVR answers for ``programs[i]`` on ``images[i]`` (each image perceived once)."""
        from clevrlang.modules.symbolic_plan import execute

        if errors not in ("raise", "return"):
            raise UsageError(f"errors must be 'raise' or 'return', not {errors!r}")
        if len(programs) != len(images):
            raise UsageError(f"{len(programs)} programs but {len(images)} images")
        nodes = [p if type(p) is Node else p.node for p in programs]
        slot: dict[int, int] = {}
        unique = []
        for im in images:
            if id(im) not in slot:
                slot[id(im)] = len(unique)
                unique.append(im)
        scenes = [Scene(s, i, where="predicted scene")
                  for i, s in enumerate(self.perceive(unique))]
        per_q = [scenes[slot[id(im)]] for im in images]
        results = self._execute(execute, nodes, per_q)
        if errors == "raise":
            for i, r in enumerate(results):
                if isinstance(r, Failure):
                    r.raise_for(i)
        return results

    @staticmethod
    def _execute(execute, nodes, scenes) -> list:
        """The batched plan; what it cannot take runs one question at a time.

        Image-level functions (``load``, codecs) are not in the plan, and a perceived scene
        may be empty (nothing detected): those questions go through the interpreter.
        """
        out: list = [None] * len(nodes)
        batch = [i for i, s in enumerate(scenes) if s.n > 0]
        try:
            for i, r in zip(batch, execute([nodes[i] for i in batch], [scenes[i] for i in batch])):
                out[i] = r
        except ExecutionError:
            pass
        for i, r in enumerate(out):
            if r is None:
                out[i] = _one(nodes[i], scenes[i])
        return out

    def interpreter(self, context=None) -> EngineeredInterpreter:
        """An interpreter whose current scene is ``context`` perceived (an image), if given."""
        if context is not None and not isinstance(context, Scene):
            context = as_image(context, DataError)
        return EngineeredInterpreter(self, context)
