"""Speed of the learned back end: one compiled batch vs clevr-iep's per-question loop.

Run: ``pytest tests/bench/test_bench_learned.py --benchmark-enable --benchmark-only``.

256 random programs of every question type, on 256 distinct images and on 26 images
(CLEVR's ~10 questions per image), with a 32-channel network at ModelConfig's default input
size, on one CPU thread and on all of them. Both paths must give the same answers. The
issue's target is 10x the loop's questions/s. ``extra_info`` holds the measured ratio and
the ratio of the two paths' convolution and matmul FLOPs (torch's FlopCounterMode): 1.0 on
distinct images, 1.5 at 10 per image (stems and common sub-programs computed once). At
equal FLOP rates the paths would differ by only that much; the rest of the speed-up is the
loop's lower rate on one-sample calls, and it grows with threads, which batched
convolutions use and one-sample ones barely do (on this 2-core machine, three runs:
2.1-2.3x / 3.1-3.6x on one thread, 2.2-4.5x / 5.2-6.1x on two; the two-thread loop is the
noisy one). ``MIN_SPEEDUP`` is what this machine reliably shows.
"""

from __future__ import annotations

import os
import time

import pytest

torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from clevrlang.modules.learned.compiler import compile_batch, run_loop  # noqa: E402
from clevrlang.modules.learned.model import NMN, ModelConfig  # noqa: E402
from clevrlang.modules.learned.stem import normalize  # noqa: E402
from clevrlang.modules.learned.training.toy import toy_dataset  # noqa: E402

BATCH = 256
TARGET_SPEEDUP = 10  # the goal: not reached on this CPU (no GPU has been lent to try)
MIN_SPEEDUP = 2  # what a 2-core CPU reliably shows at this size


@pytest.fixture(params=sorted({1, os.cpu_count() or 1}), ids=lambda n: f"{n}-threads")
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return NMN(ModelConfig(channels=32, stem_widths=(16, 32))).eval()


def _batch(per_image: int):
    n = -(-BATCH // per_image)
    data = toy_dataset(n, per_image, seed=11)
    return (normalize(torch.from_numpy(data.images)), data.nodes[:BATCH],
            data.image_ids[:BATCH].tolist())


def compiled(model, images, nodes, slots):
    with torch.inference_mode():
        return model(images, compile_batch(nodes, slots)).argmax(1)


def loop(model, images, nodes, slots):
    """One question at a time: stem, each node's module, classifier."""
    out = []
    with torch.inference_mode():
        for node, slot in zip(nodes, slots):
            features = run_loop(model, images, [node], [slot])
            out.append(model.logits(features, compile_batch([node], [0]).kinds).argmax(1))
    return torch.cat(out)


def _flops(fn, *args) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def _seconds(fn, *args, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize("per_image", [1, 10], ids=["distinct-images", "10-per-image"])
def test_compiled_batch_vs_loop(benchmark, model, per_image, threads):
    images, nodes, slots = _batch(per_image)
    fast = compiled(model, images, nodes, slots)
    assert torch.equal(fast, loop(model, images, nodes, slots))  # same answers
    benchmark.pedantic(compiled, args=(model, images, nodes, slots), rounds=3, warmup_rounds=1)
    compiled_rate = BATCH / benchmark.stats.stats.min
    loop_rate = BATCH / _seconds(loop, model, images, nodes, slots, rounds=2)
    speedup = compiled_rate / loop_rate
    flop_ratio = (_flops(loop, model, images, nodes, slots)
                  / _flops(compiled, model, images, nodes, slots))
    benchmark.extra_info.update(compiled_questions_per_s=round(compiled_rate, 1),
                                loop_questions_per_s=round(loop_rate, 1),
                                speedup=round(speedup, 2), target=TARGET_SPEEDUP,
                                flop_ratio=round(flop_ratio, 2), threads=threads)
    assert speedup >= MIN_SPEEDUP
