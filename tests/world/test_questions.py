"""The question generator: CLEVR's rules, answers, coverage, balance, text, determinism."""

from __future__ import annotations

import collections
import json
import random
import sys
from pathlib import Path

import pytest

from clevrlang.language.errors import DataError
from clevrlang.language.program import Program
from clevrlang.language.vocabulary import QUESTION_TYPES
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.modules.symbolic_plan import SymbolicBackend
from clevrlang.scene import Scene
from clevrlang.world.questions import BalanceState, QuestionGenerator
from clevrlang.world.scenes import make_scene
from clevrlang.world.templates import FAMILY_OFFSETS, family_index, load_templates, render_text

REF = Path("/work/ref/clevr-dataset-gen/question_generation")
W, H = 160, 120  # scenes only; small renders keep the visibility checks fast
N_SCENES = 120
RESET = 50  # balance blocks of 50 scenes (CLEVR's 250), so the tests cross two resets


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(11, i, width=W, height=H) for i in range(N_SCENES)]


@pytest.fixture(scope="module")
def parsed(scenes):
    return [Scene(s, i) for i, s in enumerate(scenes)]


@pytest.fixture(scope="module")
def questions(scenes):
    return QuestionGenerator(seed=5).generate_many(scenes, k=10, reset_every=RESET)


@pytest.fixture(scope="module")
def engine():
    if not (REF / "question_engine.py").exists():
        pytest.skip("CLEVR's reference question engine is not present")
    sys.path.insert(0, str(REF))
    try:
        import question_engine
    finally:
        sys.path.remove(str(REF))
    return question_engine


def _reference_nodes(program: list[dict]) -> list[dict]:
    return [{"type": n["function"], "inputs": n["inputs"], "side_inputs": n["value_inputs"]}
            for n in program]


def _reference_answer(value) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


# -- templates ------------------------------------------------------------------------------

def test_ninety_families_numbered_in_sorted_file_order():
    templates = load_templates()
    assert [t.family for t in templates] == list(range(90))
    assert list(FAMILY_OFFSETS) == sorted(FAMILY_OFFSETS)
    assert FAMILY_OFFSETS == {"compare_integer.json": 0, "comparison.json": 9, "one_hop.json": 25,
                              "same_relate.json": 31, "single_and.json": 59, "single_or.json": 64,
                              "three_hop.json": 72, "two_hop.json": 78, "zero_hop.json": 84}
    assert family_index("zero_hop.json", 5) == 89
    assert {t.question_type for t in templates} == set(QUESTION_TYPES)


def test_every_text_slot_is_a_parameter():
    rng = random.Random(0)
    for t in load_templates():
        vals = {name: "" for name in t.param_types}
        for text in t.text:
            out = render_text(text, vals, rng)
            assert "<" not in out and "[" not in out and "  " not in out, (t.family, out)


def test_text_post_processing():
    vals = {"<Z>": "", "<C>": "", "<M>": "", "<S>": "thing"}
    texts = {render_text("Is there a <Z> <C> <M> <S>?", vals, random.Random(i)) for i in range(20)}
    assert texts == {"Is there a thing?", "Is there an object?"}
    optional = {render_text("What [either] <S>s?", {"<S>": "cube"}, random.Random(i))
                for i in range(30)}
    assert optional == {"What either cubes?", "What cubes?", "What either blocks?", "What blocks?"}
    pair = {"<Z>": "", "<C>": "red", "<M>": "", "<S>": "cube",
            "<Z2>": "", "<C2>": "blue", "<M2>": "", "<S2>": "thing"}
    text = render_text("Are there any other <Z2> <C2> <M2> <S2>s that have the same size as "
                       "the <Z> <C> <M> <S>?", pair, random.Random(0))
    assert " other " not in text and text.startswith("Are there any blue ")


# -- answers and programs -------------------------------------------------------------------

def test_answers_agree_with_clevrs_engine(questions, scenes, engine):
    metadata = json.loads((REF / "metadata.json").read_text())
    for q in questions:
        nodes = _reference_nodes(q["program"])
        got = engine.answer_question({"nodes": nodes}, metadata, scenes[q["image_index"]],
                                     cache_outputs=False)
        assert _reference_answer(got) == q["answer"], q


def test_answers_agree_with_symbolic_backend(questions, parsed):
    programs = [Program.from_clevr_json(q["program"]) for q in questions]
    answers = SymbolicBackend().answer(programs, [parsed[q["image_index"]] for q in questions])
    assert answers == [q["answer"] for q in questions]


def test_programs_round_trip(questions):
    for q in questions:
        assert Program.from_clevr_json(q["program"]).to_clevr_json() == q["program"]


def test_released_form(questions):
    keys = {"question", "program", "answer", "question_family_index", "template_filename",
            "image_index", "image_filename", "split", "question_index"}
    for i, q in enumerate(questions):
        assert set(q) == keys and q["question_index"] == i
        assert all(set(n) == {"function", "inputs", "value_inputs"} for n in q["program"])
        t = load_templates()[q["question_family_index"]]
        assert q["template_filename"] == t.filename
        assert q["program"][-1]["function"] == t.question_type
        assert q["question"][0].isupper()  # (one CLEVR text lacks its "?")
        assert "<" not in q["question"] and "  " not in q["question"]


# -- coverage and balance -------------------------------------------------------------------

def test_all_families_and_question_types_occur(questions, scenes):
    assert {q["question_family_index"] for q in questions} == set(range(90))
    assert {q["program"][-1]["function"] for q in questions} == set(QUESTION_TYPES)
    per_scene = collections.Counter(q["image_index"] for q in questions)
    assert sum(per_scene.values()) >= 9 * len(scenes)


def test_each_answer_passed_clevrs_balance_rule_when_chosen(questions):
    balance, image = BalanceState(), None
    for q in questions:
        if q["image_index"] != image and q["image_index"] % RESET == 0:
            balance.reset()  # the generator's block boundary
        image = q["image_index"]
        family = q["question_family_index"]
        counts = balance.answer_counts[family]
        ordered = sorted(counts.values())
        c = counts[q["answer"]]
        assert c <= 1.1 * ordered[-2] and c <= 5 * max(ordered[len(ordered) // 2], 5), q
        assert q["answer"] in balance.allowed(family)
        balance.record(family, q["answer"])
    for counts in balance.answer_counts:  # so no family's top answer runs away
        ordered = sorted(counts.values())
        assert ordered[-1] <= 1.1 * ordered[-2] + 1


def test_out_neq_and_null_constraints(questions, parsed):
    for q in questions:
        program, last = q["program"], q["program"][-1]["function"]
        if q["question_family_index"] == 0:  # counts must differ, so never equal
            assert q["answer"] == "no"
        if last.startswith("query_"):  # the queried attribute is never named (NULL)
            unique = program[program[-1]["inputs"][0]]
            i = unique["inputs"][0]
            while program[i]["function"].startswith("filter_"):
                assert program[i]["function"] != "filter_" + last.removeprefix("query_"), q
                i = program[i]["inputs"][0]
        if last.startswith("equal_") and last != "equal_integer":  # two different objects
            node = Program.from_clevr_json(q["program"]).node
            run = SceneInterpreter(parsed[q["image_index"]])
            a, b = (run.value(query.inputs[0]) for query in node.inputs)
            assert a != b, q


def test_no_degenerate_relate_questions(questions, parsed):
    backend = SymbolicBackend()
    for q in questions:
        if q["template_filename"] != "single_and.json":
            continue
        for i, n in enumerate(q["program"]):
            if n["function"] != "relate":
                continue
            cut = [dict(m) for m in q["program"]]
            cut[i] = {"function": "scene", "inputs": [], "value_inputs": []}
            other = backend.answer([Program.from_clevr_json(cut)], [parsed[q["image_index"]]],
                                   errors="return")[0]
            assert other != q["answer"], q


# -- determinism and state ------------------------------------------------------------------

def test_deterministic_for_seed_and_scene(scenes):
    a = QuestionGenerator(seed=1).generate(scenes[3], 10, BalanceState())
    b = QuestionGenerator(seed=1).generate(scenes[3], 10, BalanceState())
    c = QuestionGenerator(seed=2).generate(scenes[3], 10, BalanceState())
    assert a == b and a != c


def test_resume_from_saved_state_matches_one_run(scenes, questions):
    gen, saved = QuestionGenerator(seed=5), BalanceState()
    first = gen.generate_many(scenes[:70], k=10, reset_every=RESET, balance=saved)
    state = json.loads(json.dumps(saved.to_json()))  # what a killed run left on disk
    rest = gen.generate_many(scenes[70:90], k=10, reset_every=RESET,
                             balance=BalanceState.from_json(state), first_index=len(first))
    assert first + rest == questions[: len(first) + len(rest)]


def test_balance_state_json_round_trip_and_validation():
    b = BalanceState()
    b.record(3, "yes")
    assert BalanceState.from_json(json.loads(json.dumps(b.to_json()))) == b
    assert b.allowed(3) == {"no"}
    b.reset()
    assert b == BalanceState()
    with pytest.raises(DataError):
        BalanceState.from_json({"template_counts": [0]})


def test_scene_without_image_index_uses_its_file_name(scenes):
    raw = {k: v for k, v in scenes[7].items() if k != "image_index"}
    qs = QuestionGenerator(seed=0).generate(raw, 2)
    assert len(qs) == 2 and qs[0]["image_index"] == 7
