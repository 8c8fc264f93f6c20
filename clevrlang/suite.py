"""A .clv file of ``expect`` statements as a test suite, run on one or more back ends.

Each expectation is a test case; the result is a side-by-side table (pass/fail per back end),
a JUnit XML file for CI systems, or JSON.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable

from clevrlang.inputs import Inputs, Interpreters
from clevrlang.language.errors import ClevrError, UsageError
from clevrlang.language.metadata import read_metadata
from clevrlang.language.program import format_value
from clevrlang.run import matches
from clevrlang.runtime import render


@dataclass
class CaseResult:
    name: str  # file:line
    text: str
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # backend -> (status, detail)


def run_suite(path: str, backends: list[str], *, scene_path=None, index=0, image_path=None,
              images_dir=None, junit_path=None, json_out=False, force=False,
              echo: Callable = print) -> bool:
    """Run every expectation of ``path`` on each back end; True when all pass.

    Each expectation reads its own input (:mod:`clevrlang.inputs`): the ``#@`` question's
    scene and image when ``clevr convert`` wrote one, else ``--scene``/``--index`` or
    ``--image``. A missing input, or a back end that cannot load, stops the suite before
    anything runs."""
    from clevrlang.backends import get_backend
    from clevrlang.language.program import parse_file

    program = parse_file(path)
    _, metas = read_metadata(program)
    expects = [(r, m) for r, m in zip(program.roots, metas) if r.is_expect]
    if not expects:
        raise UsageError(f"{path} has no 'expect' statements to run as a suite")
    if junit_path and os.path.exists(junit_path) and not force:
        raise UsageError(f"{junit_path} exists; pass --force to overwrite it")
    roots = [r for r, _ in expects]
    cases = [CaseResult(f"{path}:{r.span.line}", r.text) for r in roots]
    inputs = Inputs(scene_path, index, image_path, images_dir)
    plans = []
    for name in backends:
        backend = get_backend(name)
        plans.append((name, backend, inputs.contexts(backend, roots, [m for _, m in expects],
                                                     path)))
    for name, backend, contexts in plans:
        interpreters = Interpreters(backend)
        for case, root, context in zip(cases, roots, contexts):
            case.outcomes[name] = _outcome(interpreters, root, context)
    if junit_path:
        write_junit(junit_path, path, backends, cases, force)
    if json_out:
        echo(json.dumps([{"case": c.name, "text": c.text,
                          "results": {b: {"status": s, "detail": d}
                                      for b, (s, d) in c.outcomes.items()}} for c in cases],
                        indent=2))
    else:
        _print_table(path, backends, cases)
    return all(s == "pass" for c in cases for s, _ in c.outcomes.values())


def _outcome(interpreters: Interpreters, root, context) -> tuple[str, str]:
    """(status, detail) of one expectation on one back end."""
    try:
        value = interpreters.get(root, context).value(root.node)
    except ClevrError as e:
        return "error", e.message
    if matches(value, root.expected):
        return "pass", render(value)
    return "fail", f"expected {format_value(root.expected, root.node.type)}, got {render(value)}"


def _print_table(path, backends, cases) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"suite {escape(path)}")
    table.add_column("expectation")
    for b in backends:
        table.add_column(b)
    marks = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "error": "[yellow]error[/]"}
    for c in cases:
        cells = []
        for b in backends:
            status, detail = c.outcomes[b]
            cells.append(marks[status] + ("" if status == "pass" else " " + escape(detail)))
        table.add_row(escape(f"{c.name}  {c.text}"), *cells)
    table.add_row("accuracy", *[
        f"{sum(c.outcomes[b][0] == 'pass' for c in cases)}/{len(cases)}" for b in backends])
    Console(width=160).print(table)
    for c in cases:
        for b in backends:
            status, detail = c.outcomes[b]
            if status != "pass":
                print(f"{c.name}: {b}: {status}: {detail}", file=sys.stderr)


def write_junit(path: str, suite_path: str, backends, cases, force: bool) -> None:
    """JUnit XML: one <testsuite> per back end, one <testcase> per expectation."""
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    root = ET.Element("testsuites", name=os.path.basename(suite_path))
    for b in backends:
        outcomes = [c.outcomes[b] for c in cases]
        suite = ET.SubElement(root, "testsuite", name=f"{suite_path}[{b}]",
                              tests=str(len(cases)),
                              failures=str(sum(s == "fail" for s, _ in outcomes)),
                              errors=str(sum(s == "error" for s, _ in outcomes)),
                              skipped="0", time="0")
        for c, (status, detail) in zip(cases, outcomes):
            case = ET.SubElement(suite, "testcase", name=f"{c.name} {c.text}", classname=b, time="0")
            if status == "fail":
                ET.SubElement(case, "failure", message=detail, type="ExpectationFailed").text = detail
            elif status == "error":
                ET.SubElement(case, "error", message=detail, type="ExecutionError").text = detail
    from clevrlang.atomic import write_atomic

    write_atomic(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
