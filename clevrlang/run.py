"""Running a .clv file on its scenes or images: what ``clevr run``, suites and the REPL share."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from clevrlang.inputs import Inputs, Interpreters
from clevrlang.language.errors import ClevrError, UsageError
from clevrlang.language.ir import postorder
from clevrlang.language.metadata import read_metadata
from clevrlang.language.program import Program, format_value
from clevrlang.runtime import render


def choose_backend(backend_name: str | None, scenes_path: str | None, image_path: str | None,
                   model: str | None = None):
    """The named back end; by default symbolic with --scene (or nothing), else engineered."""
    from clevrlang.backends import get_backend

    if backend_name is None:
        backend_name = "symbolic" if scenes_path or not image_path else "engineered"
    return get_backend(backend_name, **({"model": model} if model else {}))


def load_scene(path: str, index: int):
    from clevrlang.datafiles import load_scenes

    scenes = load_scenes(path)
    if not 0 <= index < len(scenes):
        raise UsageError(f"--index {index} is out of range: {path} has {len(scenes)} scene(s)")
    return scenes[index]


def run_file(name: str, program: Program, *, scenes_path=None, index=0, image_path=None,
             images_dir=None, backend_name=None, trace=False, show_path=None, model=None,
             explain_dir=None, echo: Callable[[str], None] = print) -> int:
    """Evaluate every top-level result, each on its input (see :mod:`clevrlang.inputs`);
    returns the number of failures (errors + failed expects)."""
    backend = choose_backend(backend_name, scenes_path, image_path, model)
    if explain_dir:
        backend.require("explain", "--explain")
    _, metas = read_metadata(program)
    contexts = Inputs(scenes_path, index, image_path, images_dir).contexts(
        backend, program.roots, metas, name)
    interpreters = Interpreters(backend)
    interp = None
    failures = 0
    for root, context in zip(program.roots, contexts):
        line = root.span.line if root.span else 0
        where = f"{name}:{line}"
        try:
            interp = interpreters.get(root, context)
            value = interp.value(root.node)
        except ClevrError as e:
            echo(f"{where}: {e.render()}")
            failures += 1
            continue
        if trace:
            for node in postorder([root.node]):
                shown = interp.describe(node, interp.values[node])
                echo(f"    {node.label():<28} : {node.type!s:<8} = {shown}")
        shown = render(value)
        if backend.capabilities.probabilities and interp.probability is not None:
            shown += f"  (p={interp.probability:.2f})"
        if explain_dir:
            png = backend.explain(root.node, interp.context, Path(explain_dir) / f"line_{line}.png")
            echo(f"{where}: wrote {png}")
        if root.is_expect:
            want = format_value(root.expected, root.node.type)
            if matches(value, root.expected):
                echo(f"{where}: pass  {root.text}")
            else:
                failures += 1
                echo(f"{where}: FAIL  {root.text}\n    expected {want}, got {shown}")
        else:
            echo(f"{where}: {shown}")
    if show_path:
        backend.require("draw", "--show")
        if interp is None:
            raise UsageError(f"the {backend.name} back end has nothing to --show")
        interp.draw(show_path)
        echo(f"wrote {show_path}")
    return failures


def matches(value, expected) -> bool:
    """Whether a value equals an expectation (floats within a relative 1e-6)."""
    if isinstance(expected, float) or isinstance(value, float):
        return abs(float(value) - float(expected)) <= 1e-6 * max(1.0, abs(float(expected)))
    return render(value) == render(expected)
