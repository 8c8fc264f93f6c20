"""Which scene or image each top-level result of a .clv file reads (``clevr run``, suites).

A result that calls ``scene()`` reads the *current* input: the scene (symbolic back end) or
the image (perception back ends) the command line names -- unless a ``#@`` line written by
``clevr convert`` names its question's ``image_index`` / ``image_filename``; then it reads
that question's own scene and image. An image is found under ``--images DIR``, or beside its
scene in CLEVR's layout (``<root>/scenes/CLEVR_val_scenes.json`` ->
``<root>/images/val/<image_filename>``). Whatever cannot be found is one UsageError, raised
before anything runs, never one failure per result.
"""

from __future__ import annotations

import os
from pathlib import Path

from clevrlang.image_pass import reads_current_input
from clevrlang.language.errors import ClevrError, UsageError
from clevrlang.language.ir import Node, postorder
from clevrlang.scene import Scene

_SHOWN = 3  # reasons, and lines per reason, that a missing-input message lists


# Whether a program reads the current scene/image (a ``scene()`` with no image): one
# definition, the image pass's (it sends the others' input nowhere).
uses_current_input = reads_current_input


def swaps_input(node: Node) -> bool:
    """Whether a program calls ``scene(image)``, which replaces an interpreter's input."""
    return any(n.op == "scene" and n.inputs for n in postorder([node]))


def path_beside_scene(scene: Scene) -> Path | None:
    """Where CLEVR's layout keeps a scene's image (:meth:`Scene.image_path`)."""
    return scene.image_path()


def image_beside_scene(scene: Scene) -> str | None:
    """The image file of ``scene`` in CLEVR's layout, if it is there."""
    path = path_beside_scene(scene)
    return str(path) if path is not None and path.is_file() else None


def scene_beside_image(path: str) -> Scene | None:
    """The scene of ``<world>/images/<split>/NAME.png`` from its world's scenes file, if any."""
    p = Path(path).resolve()
    if p.parent.parent.name != "images":
        return None
    try:
        from clevrlang.world.layout import open_world

        world = open_world(p.parent.parent.parent)
        for scene in world.scenes(p.parent.name):
            if scene.raw.get("image_filename") == p.name:
                return scene
    except ClevrError:
        return None
    return None


class _Missing(Exception):
    """An input one result needs and cannot have; collected, then reported once per reason
    (with a few examples: image names, paths looked at)."""

    def __init__(self, reason: str, example: str | None = None, label: str = "images"):
        super().__init__(reason)
        self.reason, self.example, self.label = reason, example, label


class Inputs:
    """The inputs named on a command line, and the scene or image each result reads."""

    def __init__(self, scenes_path: str | None = None, index: int = 0,
                 image_path: str | None = None, images_dir: str | None = None):
        from clevrlang.datafiles import load_scenes

        self.scenes_path, self.index = scenes_path, index
        self.image_path, self.images_dir = image_path, images_dir
        self.scenes = load_scenes(scenes_path) if scenes_path else None

    def contexts(self, backend, roots, metas, name: str) -> list:
        """Per root, what ``backend`` reads: a Scene (symbolic), an image path (perception)
        or None (the root reads no current input). Raises one UsageError listing every
        result whose input is missing."""
        read = self._scene if backend.needs == "scenes" else self._image
        out, missing = [], {}
        for root, meta in zip(roots, metas):
            context = None
            if uses_current_input(root.node):
                try:
                    context = read(meta)
                except _Missing as e:
                    lines, examples, _ = missing.setdefault(e.reason, ([], {}, e.label))
                    lines.append(root.span.line if root.span else 0)
                    if e.example:
                        examples[e.example] = None
            out.append(context)
        if missing:
            raise _missing_error(name, backend.name, missing)
        return out

    # -- one result's input ----------------------------------------------------------------
    def _default_scene(self) -> Scene:
        if self.scenes is None:
            hint = " (the symbolic back end reads scene graphs; with --image use --backend " \
                   "engineered or learned)" if self.image_path else ""
            raise _Missing(f"no scene: give --scene S.json{hint}")
        if not 0 <= self.index < len(self.scenes):
            raise UsageError(f"--index {self.index} is out of range: {self.scenes_path} has "
                             f"{len(self.scenes)} scene(s)")
        return self.scenes[self.index]

    def _scene(self, meta: dict) -> Scene:
        if not _names_image(meta):
            return self._default_scene()
        from clevrlang.datafiles import Question, scene_for

        image = meta.get("image_filename") or f"image #{meta.get('image_index')}"
        if self.scenes is None:
            raise _Missing("no scene for the #@ questions' images: give --scene S.json", image)
        try:
            return scene_for(Question(meta, 0), self.scenes)
        except ClevrError:
            raise _Missing(f"{self.scenes_path} has no scene for these images", image) from None

    def _image(self, meta: dict) -> str:
        if not _names_image(meta):
            if self.image_path:
                if not os.path.isfile(self.image_path):
                    raise _Missing(f"no such image file: {self.image_path}")
                return self.image_path
            if self.scenes is None:
                raise _Missing("no image: give --image IMG, or --scene S.json of a CLEVR "
                               "world (its images are found beside it)")
            return self._beside(self._default_scene())
        if self.images_dir:
            from clevrlang.datafiles import Question
            from clevrlang.evaluation import find_image

            try:
                return find_image(self.images_dir, Question(meta, 0))
            except ClevrError:
                raise _Missing(f"these images are not under {self.images_dir}",
                               meta.get("image_filename")) from None
        return self._beside(self._scene(meta))

    def _beside(self, scene: Scene) -> str:
        found = image_beside_scene(scene)
        if found is None:
            looked = path_beside_scene(scene)
            raise _Missing(f"no image beside the scenes of {self.scenes_path} (CLEVR's layout "
                           "keeps it in <root>/images/<split>/): give --images DIR or --image "
                           "IMG", str(looked) if looked else f"scene {scene.index}",
                           "looked for")
        return found


def _names_image(meta: dict) -> bool:
    return meta.get("image_index") is not None or bool(meta.get("image_filename"))


def _few(items: list, what: str) -> str:
    shown = ", ".join(str(i) for i in items[:_SHOWN])
    return shown + (f", ... ({len(items)} {what})" if len(items) > _SHOWN else "")


def _missing_error(name: str, backend: str, missing: dict) -> UsageError:
    """One message for every result without its input: each reason once, with a few of its
    lines and examples, so the message fits a screen however many results there are."""
    total = sum(len(lines) for lines, _, _ in missing.values())
    parts = [f"{total} result(s) of {name} have no input for the {backend} back end:"]
    for reason, (lines, examples, label) in missing.items():
        parts.append(f"  {reason}")
        parts.append(f"    line{'s' if len(lines) > 1 else ''} {_few(lines, 'lines')}")
        if examples:
            parts.append(f"    {label} {_few(list(examples), 'in all')}")
    return UsageError("\n".join(parts))


class Interpreters:
    """Interpreters for one back end: consecutive results on the same input share one (so a
    perception back end sees each image once); a result calling ``scene(image)`` gets its
    own, because that call replaces the interpreter's input."""

    def __init__(self, backend):
        self.backend = backend
        self.key: object = None
        self.current = None

    def get(self, root, context):
        """The interpreter for ``root`` on ``context`` (a Scene, an image path or None)."""
        key = id(context) if isinstance(context, Scene) else context
        swaps = swaps_input(root.node)
        if self.current is None or swaps or key != self.key:
            self.current = None
            if isinstance(context, str):
                from clevrlang.images import load_image

                context = load_image(context)
            self.current = self.backend.interpreter(context)
            self.key = _FRESH if swaps else key
        return self.current


_FRESH = object()  # a key no input has: the next result gets a fresh interpreter
