"""Speed of the engineered back end with its installed default model (skipped unless
benchmarks run, and when no default model is installed).

Run: ``pytest tests/bench/test_bench_engineered.py --benchmark-enable --benchmark-only``.
Perception (detector at the model's input size, features, SVMs, geometry) dominates; the
symbolic answers on the predicted scenes cost microseconds per question.
"""

from __future__ import annotations

import pytest

W, H = 320, 240
BATCH = 16


@pytest.fixture(scope="module")
def backend():
    torch = pytest.importorskip("torch")
    from clevrlang.language.errors import CheckpointError
    from clevrlang.modules.engineered.backend import EngineeredBackend

    torch.set_num_threads(1)
    try:
        return EngineeredBackend()
    except CheckpointError as e:
        pytest.skip(f"no default engineered model: {e.message}")


@pytest.fixture(scope="module")
def images():
    from clevrlang.world.render import render
    from clevrlang.world.scenes import make_scene

    return [render(make_scene(99, i, width=W, height=H), W, H).image for i in range(BATCH)]


def _rate(benchmark, n: int) -> float:
    rate = n / benchmark.stats.stats.median
    benchmark.extra_info["images_per_s"] = round(rate, 1)
    return rate


def test_perceive_batch(benchmark, backend, images):
    benchmark.pedantic(lambda: backend.perceive(images), rounds=5, warmup_rounds=1)
    _rate(benchmark, len(images))


def test_detector_only(benchmark, backend, images):
    det = backend.perception.detector
    benchmark.pedantic(lambda: det.predict(images), rounds=5, warmup_rounds=1)
    _rate(benchmark, len(images))


def test_answer_ten_questions_per_image(benchmark, backend, images):
    from clevrlang import parse

    texts = ["count(scene())", "exist(filter_color[red](scene()))",
             "count(filter_shape[cube](scene()))", "exist(filter_material[metal](scene()))",
             "count(filter_size[large](scene()))"] * 2
    programs = [parse(t) for t in texts] * len(images)
    inputs = [im for im in images for _ in texts]
    benchmark.pedantic(lambda: backend.answer(programs, inputs, errors="return"), rounds=3,
                       warmup_rounds=1)
    _rate(benchmark, len(images))
