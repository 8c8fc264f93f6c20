"""The back-end interface and registry: ``get_backend(name)`` for symbolic, engineered, learned.

Every back end is a :class:`Backend`: it answers a batch (``answer(programs, inputs) ->
list[str | Failure]``, where ``inputs[i]`` is the scene or image of ``programs[i]``) and
gives an interpreter for one input (``interpreter(context)``) for runs and traces. What it
can do beyond that is declared as data in its :class:`Capabilities`, so callers read a flag
instead of probing for methods. Heavy back ends are imported only when asked for.

>>> get_backend("symbolic").capabilities
Capabilities(needs='scenes', explain=False, draw=False, probabilities=False)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, ClassVar, Protocol, Sequence

from clevrlang.language.errors import UsageError, shown

if TYPE_CHECKING:
    from clevrlang.runtime import Interpreter


@dataclass(frozen=True)
class Capabilities:
    """What a back end offers beyond answering: the flags run, repl, eval and compare read."""

    needs: str = "scenes"  # what answer() reads per question: "scenes" or "images"
    explain: bool = False  # backend.explain(node, image, path): a saliency PNG (--explain)
    draw: bool = False  # interpreter.draw(path): its last input, annotated (--show, :show)
    probabilities: bool = False  # interpreter.probability: the last answer's probability


class Backend(Protocol):
    """The interface of every back end (they subclass it for the defaults below)."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    @property
    def needs(self) -> str:
        """``"scenes"`` or ``"images"``: what :meth:`answer` reads per question."""
        return self.capabilities.needs

    def answer(self, programs: Sequence, inputs: Sequence, *, errors: str = "raise") -> list:
        """CLEVR answer strings for ``programs[i]`` on ``inputs[i]``; ``errors="return"``
        puts a :class:`~clevrlang.runtime.Failure` in place of a question that cannot run."""
        ...

    def interpreter(self, context) -> Interpreter:
        """An interpreter for one input (a scene or an image), for runs and traces."""
        ...

    def require(self, capability: str, option: str) -> None:
        """A UsageError unless the back end declares ``capability`` (asked for by ``option``)."""
        if not getattr(self.capabilities, capability):
            raise UsageError(f"the {self.name} back end has nothing to {option}",
                             hint=_HINTS.get(capability))


_HINTS = {"explain": "--explain draws the learned back end's saliency"}

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
