"""The REPL's session: statements that accumulate, the current scene / image / back end.

A :class:`Session` behaves as if everything typed were one .clv file: ``let`` and ``def``
stay visible to later inputs, expressions print their value and ``expect`` prints pass or
FAIL. An input that starts with ``|>`` continues the previous statement (the grammar's rule
for a line that starts with ``|>``), so a pipeline can be grown one stage at a time. Inputs
that start with ``:`` are commands (:mod:`clevrlang.repl.commands`). Errors are printed with
their caret and the session goes on. The prompt itself lives in :mod:`clevrlang.repl.prompt`.

>>> out = []
>>> s = Session(echo=lambda text, kind="out": out.append(text))
>>> s.execute("let n = 3")
True
>>> s.execute("expect n == 3") and out[-1]
'pass  expect n == 3'
"""

from __future__ import annotations

import logging
import os
import re
from typing import Callable

from clevrlang.inputs import image_beside_scene as _image_beside_scene
from clevrlang.inputs import scene_beside_image
from clevrlang.inputs import uses_current_input as _uses_current_input
from clevrlang.language import syntax as S
from clevrlang.language.check import Checker
from clevrlang.language.errors import ClevrError, UsageError
from clevrlang.language.ir import Node
from clevrlang.language.parser import parse_module
from clevrlang.language.program import format_value
from clevrlang.language.vocabulary import ATTRIBUTE_TYPES, Type
from clevrlang.repl.commands import EndSession, run_command
from clevrlang.runtime import render
from clevrlang.scene import Scene

log = logging.getLogger(__name__)

#: ``echo(text, kind)``: kind is "out" (values), "note" (context, types) or "error".
Echo = Callable[..., None]
SOURCE_NAME = "<repl>"
_ANSWER_TYPES = frozenset({Type.INT, Type.BOOL, *ATTRIBUTE_TYPES.values()})
_WIDE = 100  # object sets longer than this print one object per line
# A line ending in "|>" continues on the next; the grammar wants "|>" to start that line.
_TRAILING_PIPE = re.compile(r"\|>([ \t]*(?:#[^\n]*)?)\r?\n([ \t]*)")


def default_echo(text: str, kind: str = "out") -> None:
    """Print to the terminal; errors in red and notes dimmed (plain when not a terminal)."""
    import click

    colour = {"error": "red", "note": "bright_black"}.get(kind)
    click.echo(click.style(text, fg=colour) if colour else text)


def join_trailing_pipes(text: str) -> str:
    """Move a line-ending ``|>`` to the start of the next line, where the grammar takes it.

    >>> join_trailing_pipes("scene() |>\\n  count")
    'scene() \\n  |> count'
    """
    return _TRAILING_PIPE.sub(lambda m: f"{m.group(1)}\n{m.group(2)}|> ", text)


def is_complete(text: str) -> bool:
    """Whether an input is a whole statement: brackets closed, no trailing ``|>`` or ``\\``.

    >>> is_complete("count(scene()"), is_complete("scene() |>"), is_complete("scene()")
    (False, False, True)
    """
    depth = 0
    code = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':  # skip a string (strings never span lines)
            j = i + 1
            while j < len(text) and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        code.append(ch)
        i += 1
    tail = "".join(code).rstrip()
    return depth == 0 and not tail.endswith(("|>", "\\"))


class Session:
    """One REPL session: the checker's bindings, the current input and back end."""

    def __init__(self, *, backend: str = "symbolic", scene: Scene | None = None,
                 image=None, image_path: str | None = None, scene_label: str = "",
                 echo: Echo = default_echo):
        self.echo = echo
        self.checker = Checker()
        self.last_statement: str | None = None
        self.scene = scene
        self.scene_label = scene_label  # where the scene came from, for :scene
        self.image_path = image_path
        self._image = image
        self._backends: dict[str, object] = {}  # name -> back end, or the error it raised
        self.asked: list[str] = []  # programs written by `?` questions, for the history
        self.backend = self.backend_for(backend)

    # -- inputs ---------------------------------------------------------------------------
    @property
    def image(self):
        """The current image (HxWx3 uint8), read on first use; None when there is none."""
        if self._image is None and self.image_path is not None:
            from clevrlang.images import load_image

            self._image = load_image(self.image_path)
        return self._image

    def set_image(self, path: str | None, image=None) -> None:
        self.image_path, self._image = path, image

    def backend_for(self, name: str):
        """The back end called ``name`` (constructed once); raises UsageError if unavailable."""
        if name not in self._backends:
            from clevrlang.backends import get_backend

            try:
                self._backends[name] = get_backend(name)
            except ClevrError as e:
                self._backends[name] = e
            except Exception as e:  # a missing model or library: unavailable, not a crash
                log.debug("back end %s failed to load", name, exc_info=True)
                self._backends[name] = UsageError(f"the {name} back end is not available: "
                                                  f"{type(e).__name__}: {e}")
        found = self._backends[name]
        if isinstance(found, ClevrError):
            raise found
        return found

    def context_for(self, backend, node: Node | None = None):
        """The input ``backend`` reads: the scene (symbolic) or the image (perception)."""
        needs_scene = backend.needs == "scenes"
        context = self.scene if needs_scene else self.image
        if context is None and (node is None or _uses_current_input(node)):
            if needs_scene:
                raise UsageError("no current scene", hint="start with --scene FILE --index I "
                                 "or --world DIR, or load one with :scene FILE [INDEX]")
            raise UsageError(f"the {backend.name} back end needs an image",
                             hint="load one with :image PATH")
        return context

    def interpreter(self, node: Node | None = None, backend=None):
        """A fresh interpreter for ``backend`` (default: the session's) on the current input.

        Fresh per evaluation: ``scene(image)`` may swap an interpreter's context.
        """
        backend = backend or self.backend
        return backend.interpreter(self.context_for(backend, node))

    # -- running inputs -------------------------------------------------------------------
    def execute(self, text: str) -> bool:
        """Run one input (statements or a ``:command``); False once the user asks to quit."""
        if not text.strip():
            return True
        try:
            if text.lstrip().startswith(":"):
                run_command(self, text.strip())
            elif text.lstrip().startswith("??"):  # unknown words allowed: a best guess
                self.ask(text.lstrip()[2:], unknown=True)
            elif text.lstrip().startswith("?"):
                self.ask(text.lstrip()[1:])
            else:
                self.run_source(text)
        except EndSession:
            return False
        except ClevrError as e:
            self.echo(e.render(), "error")
        except KeyboardInterrupt:
            self.echo("interrupted", "error")
        except Exception as e:  # a bug in clevrlang: one line, never a traceback
            log.debug("internal error", exc_info=True)
            self.echo(f"internal error: {type(e).__name__}: {e}", "error")
        return True

    def ask(self, question: str, unknown: bool = False) -> None:
        """``? how many red cubes are there``: the program generator's program, shown and
        run; its text joins the history (:attr:`asked`) so the user can edit and re-run it."""
        from clevrlang.asking import LOW_CONFIDENCE, default_generator

        best, *others = default_generator().top(question, 3, unknown)
        text = best.program.to_clv()
        self.echo(text, "note")
        if best.probability < LOW_CONFIDENCE:
            self.echo(f"unsure (p={best.probability:.2f}); also: " + "; ".join(
                f"{g.program.to_clv()} (p={g.probability:.2f})" for g in others), "note")
        self.asked.append(text)
        self.run_source(text)

    def run_source(self, text: str) -> None:
        """Check and run .clv statements, in order, keeping lets and defs."""
        if text.lstrip().startswith("|>"):
            if self.last_statement is None:
                raise UsageError("nothing to continue: a line starting with '|>' continues "
                                 "the previous statement")
            text = f"{self.last_statement}\n{text}"
        module = parse_module(join_trailing_pipes(text), SOURCE_NAME)
        for statement in module.statements:
            self._statement(statement)

    def _statement(self, st) -> None:
        checker = self.checker
        if isinstance(st, S.Def) and st.name.name in checker.defs:
            self._redefine(st)
        else:
            checker.statement(st)
        self.last_statement = st.span.text()
        roots, checker.roots = checker.roots, []
        if isinstance(st, S.Let):
            self.echo(f"{st.name.name} : {checker.lets[st.name.name][0].type}", "note")
        elif isinstance(st, S.Def):
            self.echo(self.def_signature(st.name.name), "note")
        for root in roots:
            self._show_root(root)

    def _redefine(self, st: S.Def) -> None:
        """A REPL may redefine a def (a file may not); the old one stays if the new one fails."""
        checker, name = self.checker, st.name.name
        old = checker.defs.pop(name), checker.def_types.pop(name)
        try:
            checker.statement(st)
        except ClevrError:
            checker.defs[name], checker.def_types[name] = old
            raise

    def evaluate(self, node: Node, backend=None):
        """(value, interpreter or None) of ``node`` on the current input.

        A perception back end answers through the image pass and its batch protocol
        (:func:`clevrlang.image_pass.answer`), so the REPL gives the answers ``clevr eval``
        and ``compare`` score, also for a program that reads its own image (``load(...) |>
        compress[...] |> scene |> ...``); other values come from its interpreter.
        """
        backend = backend or self.backend
        context = self.context_for(backend, node)
        if backend.needs != "scenes" and node.type in _ANSWER_TYPES:
            from clevrlang import image_pass

            return image_pass.answer(backend, [node], [context], errors="raise")[0], None
        interp = backend.interpreter(context)
        return interp.value(node), interp

    def _show_root(self, root) -> None:
        value, interp = self.evaluate(root.node)
        if not root.is_expect:
            self.echo(self.format(root.node, value, interp))
            return
        from clevrlang.run import matches

        if matches(value, root.expected):
            self.echo(f"pass  {root.text}")
        else:
            want = format_value(root.expected, root.node.type)
            self.echo(f"FAIL  {root.text}\n    expected {want}, got {render(value)}")

    # -- views ----------------------------------------------------------------------------
    def expression(self, text: str) -> Node:
        """Type-check one expression against the session's names, without running it."""
        if text.lstrip().startswith("|>") and self.last_statement:
            text = f"{self.last_statement}\n{text}"
        module = parse_module(join_trailing_pipes(text), SOURCE_NAME)
        if len(module.statements) != 1 or not isinstance(module.statements[0], S.ExprStmt):
            raise UsageError("expected one expression here, e.g. scene() |> filter[red] |> count")
        return self.checker.expr(module.statements[0].expr, {})

    def def_signature(self, name: str) -> str:
        d = self.checker.defs[name]
        types, returns = self.checker.def_types[name]
        params = ", ".join(f"{p.name}: {t}" for (p, _), t in zip(d.params, types))
        return f"{name}({params}) -> {returns}"

    def let_names(self, node: Node) -> list[str]:
        """The let names currently bound to ``node``."""
        return [name for name, (n, _) in self.checker.lets.items() if n is node]

    def format(self, node: Node, value, interp=None) -> str:
        """A value for people: object sets with ids and attributes, images by size."""
        if isinstance(value, str) and node.type in _ANSWER_TYPES:  # a back end's answer
            return value
        if interp is not None and (node.type in (Type.OBJECTS, Type.OBJECT)
                                            or not isinstance(value, (int, float, str))):
            text = interp.describe(node, value)
            if len(text) > _WIDE:
                text = text.replace(", #", ",\n #")
            return text
        if node.type is Type.IMAGE and hasattr(value, "shape"):
            return f"<Image {value.shape[1]}x{value.shape[0]}>"
        if node.type is Type.CODE:
            return f"<Code {getattr(value, 'nbytes', '?')} bytes>"
        return render(value)


# ------------------------------------------------------------------------------ opening

def _world_inputs(world_dir: str, index: int, split: str | None):
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    split = split if split is not None else world.default_split()
    scene = world.scene(split, index) if world.has_scenes(split) else None
    image_path = None
    try:
        image_path = str(world.image_path(split, index))
    except ClevrError:
        if scene is None:
            raise
    label = f"{world.root} {split} #{index}"
    return scene, image_path, label


def open_session(*, image: str | None = None, world: str | None = None, index: int = 0,
                 split: str | None = None, scenes: str | None = None,
                 backend: str | None = None, echo: Echo = default_echo) -> Session:
    """A session on ``--image``, ``--world DIR --index I`` or ``--scene FILE --index I``."""
    if world and (image or scenes):
        raise UsageError("--world gives both the scene and the image; "
                         "leave out --image and --scene")
    scene, image_path, label = None, image, ""
    if world:
        scene, image_path, label = _world_inputs(world, index, split)
    elif scenes:
        from clevrlang.run import load_scene

        scene, label = load_scene(scenes, index), f"{scenes} #{index}"
        image_path = image_path or _image_beside_scene(scene)
    elif image:
        scene = scene_beside_image(image)
        label = f"{scene.where} #{scene.index}" if scene else ""
    if image_path is not None and not os.path.isfile(image_path):
        raise UsageError(f"no such image file: {image_path}")
    session = Session(scene=scene, image_path=image_path, scene_label=label, echo=echo)
    session.backend = _choose_backend(session, backend)
    return session


def _choose_backend(session: Session, name: str | None):
    """The named back end; by default symbolic when a scene is known, else a perception one."""
    if name is not None:
        return session.backend_for(name)
    if session.scene is not None or session.image_path is None:
        return session.backend_for("symbolic")
    from clevrlang.backends import NAMES

    for candidate in NAMES:
        if candidate != "symbolic":
            try:
                return session.backend_for(candidate)
            except ClevrError:
                continue
    session.echo("no perception back end is available here, and the symbolic back end "
                 "needs a scene: use :scene FILE [INDEX]", "note")
    return session.backend_for("symbolic")


__all__ = ["Session", "open_session", "is_complete", "join_trailing_pipes", "EndSession",
           "default_echo", "scene_beside_image"]
