"""The symbolic back end agrees with CLEVR's answers; the batch plan equals the interpreter."""

import json
import sys

import pytest

from clevrlang import Program, get_backend, load_scenes, parse
from clevrlang.datafiles import scene_for
from clevrlang.language.errors import ExecutionError
from clevrlang.modules.symbolic import SceneInterpreter
from clevrlang.runtime import Failure, render
from clevrlang.scene import Scene, compute_relationships

from conftest import CLEVR_DATASET_GEN, FIXTURES


def _answers(questions, scenes):
    backend = get_backend("symbolic")
    inputs = [scene_for(q, scenes) for q in questions]
    return backend.answer([q.program for q in questions], inputs)


def test_agrees_with_clevr_generator_answers(gen_fixture):
    scenes, generator_form, released_form = gen_fixture
    assert len(generator_form) == 400
    for questions in (generator_form, released_form):
        answers = _answers(questions, scenes)
        assert answers == [q.answer for q in questions]
    # all 13 question types are exercised
    assert len({q.question_type for q in released_form}) == 13


def test_batch_plan_equals_interpreter(gen_fixture):
    scenes, questions, _ = gen_fixture
    batch = _answers(questions, scenes)
    for q, a in zip(questions, batch):
        assert render(SceneInterpreter(scene_for(q, scenes)).value(q.program.node)) == a


def test_invalid_unique_is_a_typed_failure(gen_fixture):
    scenes = gen_fixture[0]
    p = parse("scene() |> unique |> query_color")
    backend = get_backend("symbolic")
    [result] = backend.answer([p], [scenes[0]], errors="return")
    assert isinstance(result, Failure)
    assert "unique needs exactly one object" in result.message and result.node == "unique"
    with pytest.raises(ExecutionError, match="unique needs exactly one object"):
        backend.answer([p], [scenes[0]])


def test_relationships_computed_when_missing(gen_fixture):
    scenes = gen_fixture[0]
    for s in scenes[:10]:
        raw = {k: v for k, v in s.raw.items() if k != "relationships"}
        assert (Scene(raw).relate == s.relate).all()
        assert compute_relationships(s.objects, s.raw["directions"]) == s.raw["relationships"]


def test_batch_mixes_scenes_and_program_shapes(gen_fixture):
    scenes = gen_fixture[0]
    programs = [parse(t) for t in [
        "scene() |> count", "scene() |> filter[red] |> exist",
        "equal_integer(scene() |> filter[cube] |> count, scene() |> filter[sphere] |> count)",
        "union(scene() |> filter[metal], scene() |> filter[large]) |> count",
        "less_than(scene() |> filter[small] |> count, 3)",
    ]]
    batch = [(p, s) for s in scenes[:8] for p in programs]
    got = get_backend("symbolic").answer([p for p, _ in batch], [s for _, s in batch])
    for (p, s), a in zip(batch, got):
        assert render(SceneInterpreter(s).value(p.node)) == a


@pytest.mark.skipif(not (FIXTURES.parent.parent / "tests").exists(), reason="layout")
def test_reference_engine_agrees_when_available(gen_fixture):
    import os

    path = os.path.join(CLEVR_DATASET_GEN, "question_generation")
    if not os.path.isdir(path):
        pytest.skip("CLEVR's reference repository is not present")
    sys.path.insert(0, path)
    try:
        import question_engine
    finally:
        sys.path.remove(path)
    metadata = json.load(open(os.path.join(path, "metadata.json")))
    scenes, questions, _ = gen_fixture
    ours = _answers(questions, scenes)
    for q, a in zip(questions, ours):
        nodes = [{"type": n["function"], "inputs": n["inputs"], "side_inputs": n["value_inputs"]}
                 for n in q.program.to_clevr_json()]
        ref = question_engine.answer_question({"nodes": nodes}, metadata,
                                              scenes[q.image_index].raw, cache_outputs=False)
        assert render(ref) == a
