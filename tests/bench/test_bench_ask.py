"""Speed of the program generator: batched greedy decoding on one CPU thread.

Run: ``pytest tests/bench/test_bench_ask.py --benchmark-enable --benchmark-only``.
The 400 questions CLEVR's own generator wrote (tests/fixtures/clevr_generator), three times
over, are decoded as one batch with the installed default model, each program re-read by
the checker as ``clevrlang.ask`` does. Target: >= 1,000 questions/s.
"""

from __future__ import annotations

import pytest
import torch

from clevrlang.asking import ProgramGenerator

TARGET = 1000  # questions per second


@pytest.fixture(scope="module")
def texts(gen_fixture):
    return [q.text for q in gen_fixture[1]] * 3


@pytest.mark.parametrize("check", [False, True], ids=["decode", "decode+check"])
def test_batched_generation_speed(benchmark, texts, check):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = ProgramGenerator()
        gen.batch(texts[:64])  # warm: first-call allocations
        benchmark.pedantic(gen.batch, args=(texts,), kwargs={"check": check}, rounds=3,
                           iterations=1)
    finally:
        torch.set_num_threads(old)
    rate = len(texts) / benchmark.stats.stats.min
    benchmark.extra_info["questions_per_s"] = round(rate)
    if not check:
        assert rate >= TARGET, f"{rate:.0f} questions/s"
