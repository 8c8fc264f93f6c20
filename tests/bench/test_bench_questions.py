"""Speed of the question generator, and against CLEVR's own generator on the same scenes.

Run: ``pytest tests/bench/test_bench_questions.py --benchmark-enable --benchmark-only``.
Both generators ask 10 questions per scene with CLEVR's balance rules; both first run
through the same ``N_WARM`` scenes from fresh counts (early scenes of a block are cheap,
later ones pay for the balance), then the next ``N_TIMED`` scenes are timed. The target is
>= 20x CLEVR's time per scene. CLEVR's generator is imported from /work/ref when present.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import sys
import time
from pathlib import Path

import pytest

from clevrlang.world.questions import BalanceState, QuestionGenerator
from clevrlang.world.scenes import make_scene

REF = Path("/work/ref/clevr-dataset-gen/question_generation")
N_WARM, N_TIMED, K = 20, 30, 10
TARGET_SPEEDUP = 20


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(2024, i, width=320, height=240) for i in range(N_WARM + N_TIMED)]


class ClevrGenerator:
    """CLEVR's generate_questions.py driven scene by scene, as its main() does."""

    def __init__(self):
        if not (REF / "generate_questions.py").exists():
            pytest.skip("CLEVR's reference generator is not present")
        sys.path.insert(0, str(REF))
        try:
            import generate_questions
        finally:
            sys.path.remove(str(REF))
        self.gq = generate_questions
        self.metadata = json.loads((REF / "metadata.json").read_text())
        self.synonyms = json.loads((REF / "synonyms.json").read_text())
        self.templates = {}
        folder = REF / "CLEVR_1.0_templates"
        for path in sorted(folder.glob("*.json")):
            for i, t in enumerate(json.loads(path.read_text())):
                self.templates[(path.name, i)] = t
        self.reset()

    def reset(self):
        outputs = {f["name"]: f["output"] for f in self.metadata["functions"]}
        self.template_counts, self.answer_counts = {}, {}
        for key, t in self.templates.items():
            dtype = outputs[t["nodes"][-1]["type"]]
            answers = {"Bool": [True, False], "Integer": list(range(11))}.get(
                dtype, self.metadata["types"][dtype])
            self.template_counts[key] = 0
            self.answer_counts[key] = dict.fromkeys(answers, 0)

    def scene(self, scene: dict) -> int:
        order = sorted(self.templates.items(), key=lambda kv: self.template_counts[kv[0]])
        found = 0
        for key, template in order:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints while it works
                texts, _, _ = self.gq.instantiate_templates_dfs(
                    scene, template, self.metadata, self.answer_counts[key], self.synonyms,
                    max_instances=1)
            if texts:
                found += 1
                self.template_counts[key] += 1
            if found >= K:
                break
        return found


def _ours(scenes, balance):
    gen = QuestionGenerator(seed=0)
    return sum(len(gen.generate(s, K, balance)) for s in scenes)


def test_bench_generate(benchmark, scenes):
    """Ours alone: questions per second over a block's first scenes, from fresh counts."""
    n = benchmark.pedantic(lambda: _ours(scenes, BalanceState()), rounds=3, warmup_rounds=1)
    per_scene = benchmark.stats.stats.median / len(scenes)
    benchmark.extra_info.update(ms_per_scene=round(1e3 * per_scene, 2),
                                questions_per_s=round(n / benchmark.stats.stats.median, 1))


def test_bench_speedup_vs_clevr(benchmark, scenes):
    clevr = ClevrGenerator()
    random.seed(0)
    warm, timed = scenes[:N_WARM], scenes[N_WARM:]
    for s in warm:
        clevr.scene(copy.deepcopy(s))
    timed_copies = [copy.deepcopy(s) for s in timed]  # CLEVR caches inside scene dicts
    start = time.perf_counter()
    clevr_questions = sum(clevr.scene(s) for s in timed_copies)
    clevr_per_scene = (time.perf_counter() - start) / len(timed)

    state = BalanceState()
    _ours(warm, state)
    saved = state.to_json()
    n = benchmark.pedantic(lambda: _ours(timed, BalanceState.from_json(saved)), rounds=3,
                           warmup_rounds=1)
    ours_per_scene = benchmark.stats.stats.median / len(timed)
    speedup = clevr_per_scene / ours_per_scene
    benchmark.extra_info.update(
        ours_ms_per_scene=round(1e3 * ours_per_scene, 2),
        clevr_ms_per_scene=round(1e3 * clevr_per_scene, 1), speedup=round(speedup, 1),
        questions_per_s=round(n / benchmark.stats.stats.median, 1),
        clevr_questions=clevr_questions, ours_questions=n)
    assert speedup >= TARGET_SPEEDUP
