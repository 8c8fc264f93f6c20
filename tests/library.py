"""The library's modules by the names they install as (``modules/x.py`` is
``clevrlang.modules.x``), for tests that walk every module: imports, docstring examples."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The source folders and the packages they install as (pyproject's package-dir).
PACKAGES = {"clevrlang": "clevrlang", "grammar": "clevrlang.grammar",
            "modules": "clevrlang.modules", "compress": "clevrlang.compress"}


def library_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every library file (a package is its __init__)."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out
