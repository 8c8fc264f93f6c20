"""Speed of the language core: parse+check+lower, and batched symbolic execution against
CLEVR's reference engine (question_engine.py) on the same questions.

Run: pytest tests/bench --benchmark-enable --benchmark-only -k core
The question sets, the engines' inputs and the interleaved comparison are in
``symbolic_speed.py`` (also a plain script). The reference is timed when its repository is
present (CLEVR_DATASET_GEN), so both figures come from one process on one machine.
"""

import os
import sys

import pytest

from clevrlang import get_backend, parse

sys.path.insert(0, os.path.dirname(__file__))
import symbolic_speed as speed  # noqa: E402

MIN_SPEEDUP = 10  # answering generator-written questions, over the reference (target 20)


@pytest.fixture(scope="module", params=["generator", "world"])
def batch(request):
    return speed.generator_batch() if request.param == "generator" else speed.world_batch()


@pytest.fixture(scope="module")
def engine():
    found = speed.reference_engine()
    if found is None:
        pytest.skip("set CLEVR_DATASET_GEN to a clone of facebookresearch/clevr-dataset-gen")
    return found


def _rate(benchmark, batch):
    if benchmark.stats is not None:  # None under --benchmark-disable (a correctness run)
        benchmark.extra_info["questions_per_s"] = round(len(batch.questions)
                                                        / benchmark.stats.stats.median)


def test_core_parse_check_lower(benchmark):
    texts = [q.program.to_clv() for q in speed.generator_batch(400).questions]
    result = benchmark(lambda: [parse(t) for t in texts])
    assert len(result) == 400


def test_core_symbolic_execute(benchmark, batch):
    """Answering loaded programs (plans compile once per program and are cached)."""
    backend = get_backend("symbolic")
    answers = benchmark(backend.answer, batch.programs, batch.scenes)
    assert answers == batch.answers
    _rate(benchmark, batch)


def test_core_symbolic_from_json(benchmark, batch):
    """Reading every program from its JSON node list again, then answering."""
    run = speed.contenders(batch, None)["ours (from JSON)"]
    assert benchmark(run) == batch.answers
    _rate(benchmark, batch)


def test_core_reference_engine(benchmark, batch, engine):
    run = speed.contenders(batch, engine)["reference"]
    benchmark(run)
    _rate(benchmark, batch)


def test_core_speedup_vs_reference(benchmark, batch, engine):
    """Ours and the reference alternate round by round; the ratio is of their medians."""
    result = speed.compare(batch, engine, rounds=11)
    warm, json_ = result["ours (warm)"], result["ours (from JSON)"]
    benchmark.extra_info.update(
        ours_qps=round(warm["median_qps"]), reference_qps=round(result["reference"]
                                                                ["median_qps"]),
        speedup=round(warm["x_reference"], 1), from_json_speedup=round(json_["x_reference"], 2))
    benchmark.pedantic(speed.contenders(batch, None)["ours (warm)"], rounds=5)
    if batch.name == "generator":
        assert warm["x_reference"] >= MIN_SPEEDUP
