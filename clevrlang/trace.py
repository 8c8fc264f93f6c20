"""A program's run on one input, node by node, as data: what ``clevr run --trace`` prints,
plus a small picture per node where one is cheap (a notebook shows it as a table).

Pictures: for a back end that reasons over a scene graph (symbolic, engineered on its
perceived scene), the image with the node's objects boxed; for one whose values are
feature maps (learned), the map's energy (L2 norm over channels) over the image. Nothing is
computed for them beyond the run itself.

>>> from clevrlang.language.program import parse
>>> from clevrlang.scene import Scene
>>> scene = Scene({"objects": [{"color": "red", "size": "large", "material": "metal",
...     "shape": "cube"}], "relationships": {r: [[]] for r in ("left", "right", "front",
...                                                              "behind")}})
>>> t = trace(parse("scene() |> filter[red] |> count"), "symbolic", scene)
>>> t.answer, [s.label for s in t.steps]
('1', ['scene', 'filter_color[red]', 'count'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clevrlang.language.ir import Node, postorder
from clevrlang.language.vocabulary import Type
from clevrlang.runtime import render
from clevrlang.scene import Scene

_THUMB = 0.5  # pictures in a trace are half the image's size


@dataclass(frozen=True)
class Step:
    label: str
    type: str
    value: str
    picture: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Trace:
    """``program`` (canonical text) run by ``backend``: its ``answer`` and one step per node."""

    program: str
    backend: str
    answer: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return "\n".join([self.program, f"answer: {self.answer}"] + [
            f"    {s.label:<28} : {s.type:<8} = {s.value}" for s in self.steps])

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython's plain text
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from clevrlang.notebook.display import trace_html

        return trace_html(self)


def trace(program, backend, context, *, image=None, pictures: bool = True) -> Trace:
    """Run ``program`` (a Program or Node) with ``backend`` (a name or a back end) on
    ``context`` (a scene or an image); ``image`` is what pictures are drawn on (default:
    the image input, or the scene's own file in its world)."""
    if isinstance(backend, str):
        from clevrlang.backends import get_backend

        backend = get_backend(backend)
    node = program if isinstance(program, Node) else program.node
    interp = backend.interpreter(context)
    answer = render(interp.value(node))
    if pictures and image is None:
        image = image_of(context, interp)
    values = interp.values
    steps = tuple(Step(n.label(), str(n.type), interp.describe(n, values[n]),
                       node_picture(n, values[n], interp.context, image) if pictures else None)
                  for n in postorder([node]))
    return Trace(_text(program, node), backend.name, answer, steps)


def _text(program, node: Node) -> str:
    if isinstance(program, Node):
        from clevrlang.language.program import Program

        program = Program.from_node(node)
    return program.to_clv()


def image_of(context, interp) -> np.ndarray | None:
    """The image an interpreter looked at: its input, or the file of its scene."""
    image = getattr(interp, "image", None)  # the engineered interpreter keeps what it saw
    if image is None and not isinstance(context, Scene) and context is not None:
        image = context
    if image is None and isinstance(context, Scene):
        path = context.image_path()
        if path is not None and path.is_file():
            from clevrlang.images import load_image

            image = load_image(path)
    return None if image is None else np.asarray(image)


def node_picture(node: Node, value, scene, image) -> np.ndarray | None:
    """A small picture of one node's value on ``image``, or None where there is none cheap."""
    if image is None:
        return None
    if node.type in (Type.OBJECTS, Type.OBJECT) and isinstance(scene, Scene) \
            and isinstance(value, int):
        ids = [value] if node.type is Type.OBJECT else \
            [i for i in range(value.bit_length()) if value >> i & 1]
        return _boxed(scene, image, ids)
    if hasattr(value, "detach") and getattr(value, "ndim", 0) == 4:
        return _energy(value, image)
    return None


def _boxed(scene: Scene, image: np.ndarray, ids: list[int]) -> np.ndarray:
    from clevrlang.notebook.display import scene_picture

    picture = scene_picture(scene, image, ids, scale=1, legend=False)
    return _shrunk(np.asarray(picture))


def _energy(features, image: np.ndarray) -> np.ndarray:
    """The feature map's energy, scaled to [0, 1], blended over the image."""
    import matplotlib
    from PIL import Image

    heat = features.detach()[0].float().pow(2).sum(0).sqrt().cpu().numpy()
    heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-12)
    h, w = image.shape[:2]
    up = np.asarray(Image.fromarray((heat * 255).astype(np.uint8)).resize(
        (w, h), Image.Resampling.BILINEAR), np.float32) / 255
    colours = matplotlib.colormaps["inferno"](up)[..., :3] * 255
    return _shrunk((0.4 * image[..., :3] + 0.6 * colours).astype(np.uint8))


def _shrunk(picture: np.ndarray) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(picture)
    size = (max(1, int(im.width * _THUMB)), max(1, int(im.height * _THUMB)))
    return np.asarray(im.resize(size, Image.Resampling.LANCZOS))


__all__ = ["Step", "Trace", "trace", "node_picture", "image_of"]
