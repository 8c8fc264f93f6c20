"""Speed of the language core: parse+check+lower, and batched symbolic execution.

Run: pytest tests/bench --benchmark-enable --benchmark-only -k core
The execution benchmark also times CLEVR's reference engine (question_engine.py) on the
same questions when its repository is present (CLEVR_DATASET_GEN), so the two figures come
from one process on one machine.
"""

import json
import os
import sys

import pytest

from clevrlang import get_backend, load_questions, load_scenes, parse
from clevrlang.data import scene_for

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from conftest import CLEVR_DATASET_GEN, FIXTURES  # noqa: E402

N = 4000


@pytest.fixture(scope="module")
def batch():
    d = FIXTURES / "clevr_generator"
    scenes = load_scenes(d / "scenes.json")
    qs = load_questions(d / "questions_released.json")
    qs = (qs * (N // len(qs) + 1))[:N]
    return [q.program for q in qs], [scene_for(q, scenes) for q in qs], qs


def test_core_parse_check_lower(benchmark, batch):
    texts = [p.to_clv() for p in batch[0][:400]]
    result = benchmark(lambda: [parse(t) for t in texts])
    assert len(result) == 400


def test_core_symbolic_execute(benchmark, batch):
    programs, scenes, qs = batch
    backend = get_backend("symbolic")
    answers = benchmark(backend.answer, programs, scenes)
    assert answers == [q.answer for q in qs]
    benchmark.extra_info["questions_per_s"] = N / benchmark.stats.stats.median


def test_core_reference_engine(benchmark, batch):
    path = os.path.join(CLEVR_DATASET_GEN, "question_generation")
    if not os.path.isdir(path):
        pytest.skip("set CLEVR_DATASET_GEN to a clone of facebookresearch/clevr-dataset-gen")
    sys.path.insert(0, path)
    import question_engine

    metadata = json.load(open(os.path.join(path, "metadata.json")))
    programs, scenes, qs = batch
    items = [({"nodes": [{"type": n["function"], "inputs": n["inputs"],
                          "side_inputs": n["value_inputs"]} for n in q.raw["program"]]}, s.raw)
             for q, s in zip(qs, scenes)]

    def run():
        return [question_engine.answer_question(p, metadata, s, cache_outputs=False)
                for p, s in items]

    benchmark(run)
    benchmark.extra_info["questions_per_s"] = N / benchmark.stats.stats.median
