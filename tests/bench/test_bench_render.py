"""Speed of the CLEVR world's renderer and scene generator (skipped unless benchmarks run).

Run: ``pytest tests/bench/test_bench_render.py --benchmark-enable --benchmark-only``.
The target is >= 25 images/s at 320x240 with the NumPy renderer on a 2-core CPU (CLEVR's
Blender renders take seconds per image on a GPU).
"""

from __future__ import annotations

import itertools

import pytest

from clevrlang.world.render import render, render_batch
from clevrlang.world.scenes import make_scene

W, H = 320, 240
TARGET_IMAGES_PER_S = 25


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(2024, i, width=W, height=H) for i in range(24)]


def _rate(benchmark, images_per_call: int = 1) -> float:
    rate = images_per_call / benchmark.stats.stats.median
    benchmark.extra_info["images_per_s"] = round(rate, 1)
    return rate


def test_render_numpy_320x240(benchmark, scenes):
    cycle = itertools.cycle(scenes)
    benchmark.pedantic(lambda: render(next(cycle), W, H), rounds=72, warmup_rounds=3)
    assert _rate(benchmark) >= TARGET_IMAGES_PER_S


def test_render_numpy_320x240_supersampled(benchmark, scenes):
    cycle = itertools.cycle(scenes)
    benchmark.pedantic(lambda: render(next(cycle), W, H, ss=2), rounds=24, warmup_rounds=1)
    _rate(benchmark)


def test_make_scene_320x240(benchmark):
    index = itertools.count()
    benchmark.pedantic(lambda: make_scene(7, next(index), width=W, height=H), rounds=48,
                       warmup_rounds=2)
    _rate(benchmark)


def test_render_batch_torch(benchmark, scenes):
    torch = pytest.importorskip("torch")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch = scenes * (8 if device == "cuda" else 1)
    if device == "cpu":
        torch.set_num_threads(2)

    def run():
        render_batch(batch, W, H, backend="torch", device=device)
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    benchmark.extra_info["device"] = device
    _rate(benchmark, len(batch))
