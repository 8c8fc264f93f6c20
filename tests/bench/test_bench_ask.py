"""Speed of the program generator: batched greedy decoding on one CPU thread.

Run: ``pytest tests/bench/test_bench_ask.py --benchmark-enable --benchmark-only``.
The 400 questions CLEVR's own generator wrote (tests/fixtures/clevr_generator), three times
over, are decoded as one batch with the installed default model; ``decode+check`` also
re-reads each program through the checker, as ``clevrlang.ask`` does. Target: >= 1,000
questions/s decoding. The rate is taken on the process's CPU time as well as the wall clock:
on a shared machine the wall clock measures the other jobs. Measured on this 2-core machine
under a load average of 12: 1,330-1,435 questions/s of CPU time (decode), 680-750 with the
checker; 0.16 s wall for one question's top 3.
"""

from __future__ import annotations

import time

import pytest
import torch

from clevrlang.asking import ProgramGenerator

TARGET = 1000  # questions per second of one thread


@pytest.fixture(scope="module")
def texts(gen_fixture):
    return [q.text for q in gen_fixture[1]] * 3


@pytest.mark.parametrize("check", [False, True], ids=["decode", "decode+check"])
def test_batched_generation_speed(benchmark, texts, check):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    cpu: list[float] = []

    def run():
        start = time.process_time()
        gen.batch(texts, check=check)
        cpu.append(time.process_time() - start)

    try:
        gen = ProgramGenerator()
        gen.batch(texts[:64])  # warm: first-call allocations
        benchmark.pedantic(run, rounds=3, iterations=1)
    finally:
        torch.set_num_threads(old)
    rate = len(texts) / min(cpu)
    benchmark.extra_info["questions_per_cpu_s"] = round(rate)
    benchmark.extra_info["questions_per_wall_s"] = round(len(texts) / benchmark.stats.stats.min)
    if not check:
        assert rate >= TARGET, f"{rate:.0f} questions per CPU second"
