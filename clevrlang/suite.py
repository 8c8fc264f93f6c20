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

from clevrlang.errors import ClevrError, UsageError
from clevrlang.program import format_value
from clevrlang.run import matches, make_context
from clevrlang.runtime import render


@dataclass
class CaseResult:
    name: str  # file:line
    text: str
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # backend -> (status, detail)


def run_suite(path: str, backends: list[str], *, scene_path=None, index=0, image_path=None,
              junit_path=None, json_out=False, force=False, echo: Callable = print) -> bool:
    """Run every expectation of ``path`` on each back end; True when all pass."""
    from clevrlang.cli.lang import _parse_file

    program = _parse_file(path)
    expects = [r for r in program.roots if r.is_expect]
    if not expects:
        raise UsageError(f"{path} has no 'expect' statements to run as a suite")
    cases = [CaseResult(f"{path}:{r.span.line}", r.text) for r in expects]
    for name in backends:
        try:
            backend, context = make_context(name, scene_path, index, image_path)
        except ClevrError as e:
            for c in cases:
                c.outcomes[name] = ("error", e.message)
            continue
        interp = backend.interpreter(context)
        for case, root in zip(cases, expects):
            try:
                value = interp.value(root.node)
            except ClevrError as e:
                case.outcomes[name] = ("error", e.message)
                continue
            if matches(value, root.expected):
                case.outcomes[name] = ("pass", render(value))
            else:
                want = format_value(root.expected, root.node.type)
                case.outcomes[name] = ("fail", f"expected {want}, got {render(value)}")
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
