"""The back-end interface: capabilities declared as data, failures that carry their node."""

from importlib import import_module

import pytest

from clevrlang import get_backend, parse
from clevrlang.backends import _REGISTRY, Backend, Capabilities
from clevrlang.language.errors import ExecutionError, UsageError
from clevrlang.runtime import Failure
from clevrlang.scene import Scene

SCENE = Scene({"objects": [{"size": "large", "color": c, "material": "metal", "shape": "cube"}
                           for c in ("red", "red", "blue")],
               "relationships": {r: [[], [], []] for r in ("left", "right", "front", "behind")}})


@pytest.mark.parametrize("name, declared", [
    ("symbolic", Capabilities(needs="scenes")),
    ("engineered", Capabilities(needs="images", draw=True)),
    ("learned", Capabilities(needs="images", explain=True, draw=True, probabilities=True)),
])
def test_every_back_end_declares_what_it_can_do(name, declared):
    module, cls = _REGISTRY[name]
    backend = getattr(import_module(f"clevrlang.modules.{module}"), cls)
    assert Backend in backend.__mro__  # it subclasses the protocol for its defaults
    assert backend.capabilities == declared


def test_asking_for_an_undeclared_capability_is_a_usage_error():
    backend = get_backend("symbolic")
    assert backend.needs == "scenes"
    with pytest.raises(UsageError, match="the symbolic back end has nothing to --show"):
        backend.require("draw", "--show")
    with pytest.raises(UsageError, match="nothing to --explain") as e:
        backend.require("explain", "--explain")
    assert "saliency" in e.value.hint


def test_an_execution_error_carries_the_node_it_happened_at():
    program = parse("scene() |> filter[red] |> unique |> query_color")
    unique = program.node.inputs[0]
    with pytest.raises(ExecutionError) as e:
        get_backend("symbolic").interpreter(SCENE).value(program.node)
    assert e.value.node is unique
    assert e.value.render().startswith("while executing unique: execution error: unique needs")


def test_a_failure_keeps_the_node_and_raising_it_again_names_it():
    program = parse("scene() |> filter[red] |> unique |> query_color")
    unique = program.node.inputs[0]
    backend = get_backend("symbolic")
    (failure,) = backend.answer([program], [SCENE], errors="return")
    assert isinstance(failure, Failure)
    assert (failure.node, failure.at) == ("unique", unique)
    assert str(failure) == "while executing unique: unique needs exactly one object, found 2 (#0, #1)"
    with pytest.raises(ExecutionError) as e:
        backend.answer([program], [SCENE])
    assert e.value.node is unique and e.value.message.startswith("question 0: unique needs")
