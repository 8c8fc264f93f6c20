"""Reading CLEVR JSON programs fast changes nothing: the lean path of node_from_json gives
the node and let names that checking every node gives, and the same error otherwise;
interned nodes go when nothing uses them."""

import copy
import gc
import random

import pytest

from clevrlang.language import clevr_json
from clevrlang.language.errors import DataError
from clevrlang.language.ir import _INTERNED, Node
from clevrlang.language.vocabulary import Type


def careful(nodes, where=None):
    """node_from_json as it was: every node through every check, then the let layout."""
    if not isinstance(nodes, list) or not nodes:
        raise clevr_json._fail("a program must be a non-empty list of nodes", where)
    built = []
    for i, raw in enumerate(nodes):
        built.append(clevr_json._checked_node(raw, i, built, where))
    return built[-1], clevr_json._layout_names(nodes, built)


def outcome(read, nodes):
    try:
        node, names = read(copy.deepcopy(nodes), "q.json")
    except DataError as e:
        return "error", str(e)
    return node, [(n, name) for n, name in names]


def mutate(rng: random.Random, nodes: list) -> list:
    nodes = copy.deepcopy(nodes)
    i = rng.randrange(len(nodes))
    n = nodes[i]
    k = rng.randrange(12)
    if k == 0 and n.get("inputs"):
        n["inputs"][0] = rng.choice([True, -1, i, i + 3, "0", 0.0, None])
    elif k == 1 and n.get("value_inputs"):
        n["value_inputs"][0] = rng.choice(["purple", "Red", 1, None, ["red"], "left"])
    elif k == 2 and "function" in n:
        n["type"] = n.pop("function")  # the generator's spelling
    elif k == 3 and "value_inputs" in n:
        n["side_inputs"] = n.pop("value_inputs")
    elif k == 4:
        n.pop(rng.choice(["inputs", "value_inputs"]), None)
    elif k == 5:
        n["function"] = rng.choice(["scene", "filter", "relate_filter", "count", 3, "unique"])
    elif k == 6:
        n["inputs"] = n.get("inputs", []) + [0]
    elif k == 7:
        nodes[i] = rng.choice([[], "scene", None, {}])
    elif k == 8 and i > 0:  # list the nodes in another order: lets are needed
        nodes.insert(0, nodes.pop(i))
        for m in nodes:
            m["inputs"] = [0 if j == i else j + 1 if j < i else j for j in m.get("inputs", [])]
    elif k == 9:
        n["inputs"] = tuple(n.get("inputs", []))
    elif k == 10 and len(nodes) > 2:  # an input used twice
        nodes[-1]["inputs"] = [len(nodes) - 2] * len(nodes[-1]["inputs"])
    else:
        n["extra"] = 1
    return nodes


def test_lean_reading_equals_careful_reading(gen_fixture):
    _, generator_form, released_form = gen_fixture
    rng = random.Random(0)
    programs = [q.raw["program"] for q in released_form + generator_form]
    cases = programs + [mutate(rng, rng.choice(programs)) for _ in range(3000)]
    errors = 0
    for nodes in cases:
        want = outcome(careful, nodes)
        assert outcome(clevr_json.node_from_json, nodes) == want, nodes
        errors += want[0] == "error"
    assert 500 < errors < 2500  # both outcomes are well exercised


def test_interned_nodes_are_freed():
    gc.collect()
    before = len(_INTERNED)
    words = [f"test_interned_nodes_are_freed {i}" for i in range(3)]  # made nowhere else
    made = [Node.const(w, Type.STR) for w in words]
    assert Node.const(words[0], Type.STR) is made[0]
    assert len(_INTERNED) == before + 3
    del made
    gc.collect()
    assert len(_INTERNED) == before
    again = Node.const(words[0], Type.STR)
    assert again.values == (words[0],) and len(_INTERNED) == before + 1


@pytest.mark.parametrize("value", [True, 1.0])
def test_equal_but_not_identical_values_keep_their_node(value):
    """A program's values are compared as the checker would: a key that is equal but of
    another type (True == 1) goes the careful way and is refused the same."""
    nodes = [{"function": "scene", "inputs": [], "value_inputs": []},
             {"function": "count", "inputs": [value], "value_inputs": []}]
    assert outcome(clevr_json.node_from_json, nodes) == outcome(careful, nodes)
