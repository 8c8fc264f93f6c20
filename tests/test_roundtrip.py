"""JSON -> IR -> .clv -> IR -> JSON is exact; random text never crashes the parser."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clevrlang import Program, get_backend, parse
from clevrlang.datafiles import scene_for
from clevrlang.language.clevr_json import normalize
from clevrlang.language.errors import ClevrError
from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import ENUMS, FUNCTIONS, Type


def test_every_generator_program_round_trips(gen_fixture):
    _, generator_form, released_form = gen_fixture
    for qs in (generator_form, released_form):
        for q in qs:
            text = q.program.to_clv()
            again = parse(text)
            assert again.node is q.program.node
            assert again.to_clevr_json() == normalize(q.raw["program"])
    generated = Program.from_clevr_json(generator_form[0].raw["program"])
    assert generated.to_clevr_json(style="generator")[0] == {"type": "scene", "inputs": []}


def test_convert_both_ways_keeps_programs_and_answers(gen_fixture, cli, tmp_path):
    from conftest import FIXTURES

    src = FIXTURES / "clevr_generator" / "questions_released.json"
    clv, back = tmp_path / "q.clv", tmp_path / "q.json"
    assert cli("convert", src, clv)[0] == 0
    assert cli("convert", clv, back)[0] == 0
    original = json.loads(src.read_text())["questions"]
    converted = json.loads(back.read_text())["questions"]
    assert len(converted) == len(original)
    for a, b in zip(original, converted):
        assert b["program"] == normalize(a["program"])
        assert b["answer"] == a["answer"]
        assert b["image_index"] == a["image_index"] and b["question"] == a["question"]
    # answering the converted file gives the same answers
    code, out, _ = cli("eval", "--questions", back, "--scenes",
                       FIXTURES / "clevr_generator" / "scenes.json", "--json")
    assert code == 0 and json.loads(out)["symbolic"]["overall"] == 1.0
    # nothing is overwritten silently
    code, _, err = cli("convert", src, clv)
    assert code == 2 and "--force" in err  # a wrong call: exit 2


def _program(draw, t: Type, depth: int) -> Node:
    """A random well-typed CLEVR program of type ``t``, built from the vocabulary."""
    choices = [f for f in FUNCTIONS.values() if f.clevr and f.output is t]
    if depth <= 0:
        leafy = [f for f in choices if not f.inputs or f.name == "scene"]
        choices = leafy or [f for f in choices if all(i is not t for i in f.inputs)] or choices
    f = draw(st.sampled_from(sorted(choices, key=lambda f: f.name)))
    values = tuple(draw(st.sampled_from(ENUMS[p.type])) for p in f.params)
    n = len(f.inputs) - f.optional_inputs
    inputs = tuple(_program(draw, i, depth - 1) for i in f.inputs[:n])
    return Node.make(f.name, values, inputs)


@st.composite
def programs(draw):
    t = draw(st.sampled_from([Type.INT, Type.BOOL, Type.COLOR, Type.SHAPE, Type.OBJECTS]))
    return _program(draw, t, draw(st.integers(0, 6)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_round_trip(node):
    p = Program.from_node(node)
    assert parse(p.to_clv()).node is node
    js = p.to_clevr_json()
    back = Program.from_clevr_json(js)
    assert back.node is node
    assert back.to_clevr_json() == js
    assert parse(back.to_clv()).to_clevr_json() == js


@settings(max_examples=150, deadline=None)
@given(programs(), st.integers(0, 39))
def test_random_programs_run_the_same_batched_and_interpreted(gen_fixture, node, k):
    from clevrlang.modules.symbolic import SceneInterpreter
    from clevrlang.runtime import Failure, render

    scene = gen_fixture[0][k]
    [batched] = get_backend("symbolic").answer([node], [scene], errors="return")
    try:
        single = render(SceneInterpreter(scene).value(node))
    except ClevrError:
        assert isinstance(batched, Failure)
        return
    if node.type is not Type.OBJECTS:
        assert batched == single


ALPHABET = st.sampled_from(list("()[],|>=#\"\n _-.0123456789") + ["scene", "count", "filter",
                           "let", "def", "expect", "red", "cube", "unique", "relate", "left",
                           ":", "->", "Int", "x", "yes", "=="])


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=30).map("".join) | st.text(max_size=40))
def test_random_text_gives_clevr_errors_only(text):
    try:
        parse(text)
    except ClevrError as e:
        assert e.render()
