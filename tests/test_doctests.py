"""Every ``>>>`` example in the library runs, in the module it documents.

The modules are imported by their installed names: pytest's ``--doctest-modules`` would import
``modules/``, ``compress/`` and ``grammar/`` a second time as top-level packages (they install
as ``clevrlang.modules`` and so on). Examples run from the repository root, so they may name
files under ``tests/fixtures`` as a reader of a checkout would. An example that needs a
trained model or minutes says so beside its ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

from library import ROOT, library_modules

DOCUMENTED = sorted(name for name, path in library_modules().items()
                    if ">>>" in path.read_text(encoding="utf-8"))


def test_the_examples_are_found():
    assert len(DOCUMENTED) > 40 and "clevrlang.modules.learned.model" in DOCUMENTED


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (above)"
