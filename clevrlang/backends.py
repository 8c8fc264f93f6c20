"""The back-end registry: ``get_backend(name)`` for symbolic, engineered and learned.

Every back end answers a batch: ``answer(programs, inputs) -> list[str | Failure]``, where
``inputs[i]`` is the scene (symbolic) or image (perception back ends) of ``programs[i]``,
and gives an interpreter for one input (``interpreter(context)``) for runs and traces.
Heavy back ends are imported only when asked for.
"""

from __future__ import annotations

import difflib
from importlib import import_module

from clevrlang.errors import UsageError, shown

# name -> (module, class) under clevrlang.modules
_REGISTRY = {
    "symbolic": ("symbolic_plan", "SymbolicBackend"),
    "engineered": ("engineered.backend", "EngineeredBackend"),
    "learned": ("learned.backend", "LearnedBackend"),
}
NAMES = tuple(_REGISTRY)


def check_name(name: str) -> str:
    """``name`` when it names a back end, else a UsageError with the closest name."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, NAMES, n=1)
        raise UsageError(f"unknown back end {shown(name)}",
                         hint=(f"did you mean '{close[0]}'? " if close else "")
                         + f"back ends: {', '.join(NAMES)}")
    return name


def get_backend(name: str, **options):
    """The back end called ``name``; ``options`` go to its constructor (``model=``, ...)."""
    module, cls = _REGISTRY[check_name(name)]
    try:
        mod = import_module(f"clevrlang.modules.{module}")
    except ModuleNotFoundError as e:
        if not e.name or not e.name.startswith("clevrlang"):
            raise
        raise UsageError(f"the {name} back end is not available in this installation") from None
    return getattr(mod, cls)(**options)


def available_backends() -> list[str]:
    """Back ends that can be constructed here with their default models."""
    out = []
    for name in NAMES:
        try:
            get_backend(name)
        except Exception:  # a missing default model or module means "not available"
            continue
        out.append(name)
    return out
