"""The REPL's ``:commands``: one small function each, registered in :data:`COMMANDS`.

Each takes the :class:`~clevrlang.repl.session.Session` and the text after the command's name, and
prints through ``session.echo``. The completer reads :data:`COMMANDS` too (names, and what
kind of argument each takes), so a command added here is completed with no other edit.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from clevrlang.inputs import image_beside_scene, scene_beside_image
from clevrlang.language.errors import ClevrError, UsageError
from clevrlang.language.ir import postorder, to_networkx
from clevrlang.language.vocabulary import ATTRIBUTES, FILTER_MACRO, FUNCTIONS, RELATIONS

if TYPE_CHECKING:  # the session runs the commands; they only see its type
    from clevrlang.repl.session import Session


class EndSession(Exception):
    """Raised by ``:quit``."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    run: Callable[[Session, str], None]
    argument: str = ""  # what follows: "", "expr", "expr path", "path", "backend", "name"


COMMANDS: dict[str, Command] = {}
ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}


def command(usage: str, help: str, argument: str = ""):
    def register(fn):
        name = usage.split()[0].lstrip(":")
        COMMANDS[name] = Command(name, usage, help, fn, argument)
        return fn
    return register


def run_command(session: Session, text: str) -> None:
    """Run ``:name args``; an unknown name is a usage error with a suggestion."""
    name, _, arg = text[1:].partition(" ")
    name = ALIASES.get(name, name)
    cmd = COMMANDS.get(name)
    if cmd is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        raise UsageError(f"unknown command ':{name}'",
                         hint=(f"did you mean ':{close[0]}'? " if close else "") + ":help lists them")
    arg = arg.strip()
    if cmd.argument and not cmd.argument.endswith("?") and not arg:
        raise UsageError(f"{cmd.usage.split()[0]} needs an argument", hint=f"usage: {cmd.usage}")
    cmd.run(session, arg)


def _split_path(arg: str, usage: str) -> tuple[str, str]:
    expr, _, path = arg.rpartition(" ")
    if not expr.strip() or not path:
        raise UsageError("expected an expression and then a file name", hint=f"usage: {usage}")
    return expr, path


# -------------------------------------------------------------------------------- commands

@command(":help [NAME]", "this list; or a command's, function's or def's description", "name?")
def _help(s: Session, arg: str) -> None:
    name = ALIASES.get(arg.lstrip(":"), arg.lstrip(":"))
    if not arg:
        width = max(len(c.usage) for c in COMMANDS.values())
        s.echo("\n".join(f"  {c.usage:<{width}}  {c.help}" for c in COMMANDS.values()))
        s.echo("Anything else is .clv: let / def / expect / expressions. A line starting with "
               "'|>' continues the previous statement; Esc-Enter inserts a newline.", "note")
    elif arg.startswith(":") and name in COMMANDS:
        s.echo(f"{COMMANDS[name].usage}\n  {COMMANDS[name].help}")
    elif arg in FUNCTIONS:
        s.echo(f"{FUNCTIONS[arg].signature()}\n  {FUNCTIONS[arg].doc}")
    elif arg == FILTER_MACRO:
        s.echo("filter[VALUE ...](Objects) -> Objects\n  filter_<attribute> for each value, "
               "its attribute inferred (size, color, material, shape)")
    elif arg in s.checker.defs:
        s.echo(s.def_signature(arg))
    elif name in COMMANDS:
        s.echo(f"{COMMANDS[name].usage}\n  {COMMANDS[name].help}")
    else:
        raise UsageError(f"nothing called '{arg}'", hint="try :help for commands, "
                         "or :help count for a function")


@command(":quit", "leave (Ctrl-D works too)")
def _quit(s: Session, arg: str) -> None:
    raise EndSession()


@command(":image PATH", "use this image (its world's scene too, when it is in one)", "path")
def _image(s: Session, arg: str) -> None:
    from clevrlang.images import load_image

    image = load_image(arg)
    s.set_image(arg, image)
    name = arg.replace("\\", "/").rsplit("/", 1)[-1]
    found = scene_beside_image(arg)
    if found is not None:
        s.scene, s.scene_label = found, f"{found.where} #{found.index}"
    elif s.scene is not None and s.scene.image_filename != name:
        s.scene, s.scene_label = None, ""  # it described another picture
    s.echo(f"image {arg} ({image.shape[1]}x{image.shape[0]}); scene: "
           + (s.scene_label or "none"), "note")
    if s.scene is None and s.backend.needs == "scenes":
        s.echo("the symbolic back end needs a scene: :scene FILE [INDEX], "
               "or :backend engineered / learned", "note")


@command(":scene [FILE [INDEX]]", "show the scene graph; or load scene INDEX of FILE", "path?")
def _scene(s: Session, arg: str) -> None:
    if arg:
        from clevrlang.run import load_scene

        path, _, index = arg.partition(" ")
        try:
            i = int(index or 0)
        except ValueError:
            raise UsageError(f"INDEX must be a number, got '{index}'") from None
        s.scene, s.scene_label = load_scene(path, i), f"{path} #{i}"
        beside = image_beside_scene(s.scene)
        if beside:
            s.set_image(beside)
    if s.scene is None:
        raise UsageError("no current scene", hint="load one with :scene FILE [INDEX]")
    s.echo(describe_scene(s.scene, s.scene_label))


def describe_scene(scene, label: str = "") -> str:
    """The scene graph as a table: each object's attributes and, per relation, the ids of
    the objects standing in that relation to it (from the networkx graph)."""
    graph = scene.to_networkx()
    related = {(i, r): [] for i in graph.nodes for r in RELATIONS}
    for i, j, data in graph.edges(data=True):
        related[(i, data["relation"])].append(j)
    head = f"scene {label or scene.index}"
    if scene.image_filename:
        head += f" ({scene.image_filename})"
    rows = [["id", *ATTRIBUTES, *RELATIONS]]
    for i, attrs in graph.nodes(data=True):
        rows.append([f"#{i}", *(attrs[a] for a in ATTRIBUTES),
                     *(",".join(map(str, sorted(related[(i, r)]))) or "-" for r in RELATIONS)])
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [f"{head}: {scene.n} objects; a relation column lists the objects that are "
             "<relation> of the row's object"]
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


@command(":backend [NAME]", "switch back end; without NAME, list them", "backend?")
def _backend(s: Session, arg: str) -> None:
    from clevrlang.backends import NAMES

    if arg:
        s.backend = s.backend_for(arg)
        needs = "a scene" if s.backend.needs == "scenes" else "an image"
        s.echo(f"back end: {s.backend.name} (reads {needs})", "note")
        return
    for name in NAMES:
        try:
            s.backend_for(name)
            state = "current" if s.backend.name == name else "available"
        except ClevrError as e:
            state = f"unavailable: {e.message}"
        s.echo(f"  {name:<11} {state}")


@command(":type EXPR", "the type of an expression (or a function's signature)", "expr")
def _type(s: Session, arg: str) -> None:
    name = arg.strip()
    if name in FUNCTIONS:
        s.echo(FUNCTIONS[name].signature())
    elif name in s.checker.defs:
        s.echo(s.def_signature(name))
    else:
        s.echo(f"{arg} : {s.expression(arg).type}")


@command(":ir EXPR", "the program's DAG: nodes with ids, labels, types and input edges", "expr")
def _ir(s: Session, arg: str) -> None:
    node = s.expression(arg)
    graph = to_networkx([node])
    order = postorder([node])
    ids = {id(n): k for k, n in enumerate(order)}
    for n in order:
        ins = sorted(graph.in_edges(id(n), data="position"), key=lambda e: e[2])
        edges = ", ".join(f"%{ids[src]}" for src, _, _ in ins)
        data = graph.nodes[id(n)]
        line = f"  %{ids[id(n)]:<3} {data['label'] + (f'({edges})' if edges else ''):<40} : {data['type']}"
        names = s.let_names(n)
        s.echo(line + (f"   # {', '.join(names)}" if names else ""))
    s.echo(f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
           f"depth {node.depth}", "note")


@command(":trace EXPR", "each node's value on the current input, in order", "expr")
def _trace(s: Session, arg: str) -> None:
    node = s.expression(arg)
    interp = s.interpreter(node)
    failure = None
    try:
        interp.run([node])
    except ClevrError as e:
        failure = e
    for k, n in enumerate(postorder([node])):
        head = f"  %{k:<3} {n.label():<28} : {str(n.type):<8}"
        if n in interp.values:
            shown = s.format(n, interp.values[n], interp).replace("\n", "\n" + " " * (len(head) + 3))
            s.echo(f"{head} = {shown}")
        elif failure is not None:
            s.echo(f"{head}   (failed)", "error")
            break
    if failure is not None:
        raise failure


@command(":show EXPR FILE.png", "a picture of the objects EXPR selects on the current image",
         "expr path")
def _show(s: Session, arg: str) -> None:
    expr, path = _split_path(arg, ":show EXPR FILE.png")
    from clevrlang.repl.show import show

    s.echo(show(s, s.expression(expr), path), "note")


@command(":compare EXPR", "the answer of every available back end, side by side", "expr")
def _compare(s: Session, arg: str) -> None:
    from clevrlang.backends import NAMES

    node = s.expression(arg)
    rows, answers = [], set()
    for name in NAMES:
        try:
            backend = s.backend_for(name)
        except ClevrError as e:
            rows.append((name, f"(unavailable: {e.message})"))
            continue
        try:
            value, interp = s.evaluate(node, backend)
            shown = s.format(node, value, interp)
            answers.add(shown)
        except ClevrError as e:
            shown = f"(error: {e.message})"
        except Exception as e:  # one back end failing must not hide the others' answers
            shown = f"(error: {type(e).__name__}: {e})"
        rows.append((name, shown))
    width = max(len(n) for n, _ in rows)
    for name, shown in rows:
        s.echo(f"  {name:<{width}}  {shown}".replace("\n", "\n  " + " " * (width + 2)))
    if len(answers) > 1:
        s.echo(f"the back ends disagree ({len(answers)} different answers)", "note")


@command(":env", "the let names and defs of this session")
def _env(s: Session, arg: str) -> None:
    for name, (node, _) in s.checker.lets.items():
        s.echo(f"  let {name} : {node.type}")
    for name in s.checker.defs:
        s.echo(f"  def {s.def_signature(name)}")
    if not s.checker.lets and not s.checker.defs:
        s.echo("nothing defined yet", "note")


__all__ = ["COMMANDS", "ALIASES", "Command", "EndSession", "run_command", "describe_scene"]
