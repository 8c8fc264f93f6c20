"""``:show``: a picture of what an expression looks at on the current image.

Back ends that reason over a scene graph (symbolic, and engineered on its perceived scene)
draw the image with the selected objects boxed; a back end with its own picture of a
program (the learned one's ``explain``: saliency and module maps) draws that.

The objects shown are those of the expression's value when it is an object set (or one
object), else of the nearest object-set input (``count`` shows what it counted). Boxes come
from the scene's ``bbox`` (worlds made here have them); real CLEVR scenes only give object
centres (``pixel_coords``), which are marked instead.
"""

from __future__ import annotations

from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import Type
from clevrlang.scene import Scene


def object_node(node):
    """The node whose objects a result is about: itself, or the nearest Objects/Object input."""
    frontier = [node]
    while frontier:
        for n in frontier:
            if n.type in (Type.OBJECTS, Type.OBJECT):
                return n
        frontier = [i for n in frontier for i in n.inputs]
    return None


def _selected(node, interp) -> tuple[list[int], str]:
    target = object_node(node)
    if target is None:
        raise UsageError("this expression selects no objects to show",
                         hint="show an object set, e.g. scene() |> filter[red]")
    value = interp.values[target]
    if target.type is Type.OBJECT:
        return [int(value)], target.label()
    return [i for i in range(int(value).bit_length()) if int(value) >> i & 1], target.label()


def show(session, node, path: str) -> str:
    """Write the picture of ``node`` on the current input to ``path``; a line saying what."""
    backend = session.backend
    interp = session.interpreter(node)
    if isinstance(interp.context, Scene) or not backend.capabilities.explain:
        interp.value(node)
        return show_selection(session, node, interp, path)
    if session.image is None:
        raise UsageError("no image to explain the program on", hint="load one with :image PATH")
    backend.explain(node, session.image, path)
    return f"wrote {path}: the {backend.name} back end's maps for this program"


def show_selection(session, node, interp, path: str) -> str:
    """Write ``path``: the image, the selected objects boxed with their ids; a legend of all."""
    scene = interp.context
    if not isinstance(scene, Scene):
        raise UsageError("no current scene to take objects from",
                         hint="start with --world DIR or --scene FILE")
    image = session.image
    if image is None:
        raise UsageError("no image of this scene to draw on",
                         hint="load it with :image PATH (or start with --world DIR --index I)")
    ids, label = _selected(node, interp)
    objects = scene.objects
    has_boxes = any(o.get("bbox") for o in objects)
    if not has_boxes and not any(o.get("pixel_coords") for o in objects):
        raise UsageError("this scene has neither boxes ('bbox') nor object centres "
                         "('pixel_coords') to draw")
    chosen = set(ids)
    # draw_overlay marks every object that has a box or centre; keep those on chosen ones.
    drawn = [o if i in chosen else {k: v for k, v in o.items() if k not in ("bbox", "pixel_coords")}
             for i, o in enumerate(objects)]
    from clevrlang.images import save_image
    from clevrlang.world.show import draw_overlay

    title = f"{label}: " + (" ".join(f"#{i}" for i in ids) or "no objects")
    picture = draw_overlay(image, {"objects": drawn}, scale=2, title=title)
    import numpy as np

    save_image(np.asarray(picture), path)
    what = "boxed" if has_boxes else "centres marked (the scene has no 'bbox')"
    return f"wrote {path}: {len(ids)} object(s) {what}"
