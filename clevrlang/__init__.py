"""clevrlang: a small typed language for CLEVR-style visual reasoning programs.

>>> p = parse("scene() |> filter[red cube] |> count")
>>> p.to_clevr_json()[1]
{'function': 'filter_color', 'inputs': [0], 'value_inputs': ['red']}
"""

from clevrlang.language.errors import ClevrError
from clevrlang.language.program import Program, parse

__all__ = ["ClevrError", "Program", "parse", "load_scenes", "load_questions", "get_backend",
           "ask", "ask_top"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext clevrlang``: the ``%%clv`` cell magic and its line magics (Jupyter)."""
    from clevrlang.notebook.magics import ClvMagics

    ipython.register_magics(ClvMagics)


def __getattr__(name):
    # Loaders and back ends are imported on first use, so `import clevrlang` stays light.
    if name in ("load_scenes", "load_questions"):
        from clevrlang import datafiles

        return getattr(datafiles, name)
    if name in ("ask", "ask_top"):  # English -> Program (torch loads on the first question)
        from clevrlang import asking

        return getattr(asking, name)
    if name == "get_backend":
        from clevrlang.backends import get_backend

        return get_backend
    raise AttributeError(f"module 'clevrlang' has no attribute {name!r}")
