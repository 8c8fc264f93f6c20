"""The symbolic back end against CLEVR's reference ``question_engine.py``, same questions.

Two question sets of 4,000: the 400 questions CLEVR's own generator wrote
(``tests/fixtures/clevr_generator``, released spelling) ten times over, and this project's
own world (2,000 questions of ``QuestionGenerator`` on 200 ``make_scene`` scenes, twice).
Each engine gets the questions in its own form, made before timing: the reference its
``{"nodes": [...]}`` dicts and scene dicts, ours loaded programs and scenes ("warm": each
plan compiles on first use and is cached per program). "from JSON" adds ours reading each
program from its JSON node list again (as ``clevr eval`` does once per file). Timings
alternate between the engines round by round, so machine load hits both alike; ratios
are of medians.

Run (CLEVR's repository cloned anywhere)::

    CLEVR_DATASET_GEN=path/to/clevr-dataset-gen python tests/bench/symbolic_speed.py

``tests/bench/test_bench_core.py`` runs the same comparison under pytest-benchmark.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

N = 4000
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "clevr_generator"
CLEVR_DATASET_GEN = os.environ.get("CLEVR_DATASET_GEN", "/work/ref/clevr-dataset-gen")


@dataclass
class Batch:
    """One question set in both engines' forms, with the answers both must give."""

    name: str
    questions: list  # clevrlang.datafiles.Question, one per question (repeats share the object)
    scenes: list  # clevrlang.scene.Scene per question
    answers: list[str]

    @property
    def programs(self) -> list:
        return [q.program for q in self.questions]

    def reference_items(self) -> list[tuple[dict, dict]]:
        """(program, scene) in question_engine's form: "type"/"side_inputs" node dicts."""
        return [({"nodes": [{"type": n["function"], "inputs": n["inputs"],
                             "side_inputs": n["value_inputs"]}
                            for n in q.raw["program"]]}, s.raw)
                for q, s in zip(self.questions, self.scenes)]


def generator_batch(n: int = N) -> Batch:
    """Questions written by CLEVR's generator on its scenes, repeated to ``n``."""
    from clevrlang import load_questions, load_scenes
    from clevrlang.datafiles import scene_for

    scenes = load_scenes(FIXTURE / "scenes.json")
    qs = load_questions(FIXTURE / "questions_released.json")
    qs = (qs * (n // len(qs) + 1))[:n]
    return Batch("generator", qs, [scene_for(q, scenes) for q in qs], [q.answer for q in qs])


def world_batch(n: int = N, images: int = 200) -> Batch:
    """Questions of this project's generator on its own scenes (10 per image), to ``n``."""
    from clevrlang.datafiles import Question
    from clevrlang.scene import Scene
    from clevrlang.world.questions import QuestionGenerator
    from clevrlang.world.scenes import make_scene

    raws = [make_scene(2024, i, "val", 320, 240) for i in range(images)]
    scenes = [Scene(r, i) for i, r in enumerate(raws)]
    made = QuestionGenerator(seed=0).generate_many(raws, 10)
    qs = [Question(raw, i, "world") for i, raw in enumerate(made)]
    qs = (qs * (n // len(qs) + 1))[:n]
    return Batch("own world", qs, [scenes[q.image_index] for q in qs], [q.answer for q in qs])


def reference_engine():
    """``(question_engine, metadata)`` from CLEVR's repository, or None when absent."""
    path = Path(CLEVR_DATASET_GEN) / "question_generation"
    if not (path / "question_engine.py").exists():
        return None
    sys.path.insert(0, str(path))
    try:
        import question_engine
    finally:
        sys.path.remove(str(path))
    return question_engine, json.loads((path / "metadata.json").read_text())


def contenders(batch: Batch, engine) -> dict:
    """name -> a function answering the whole batch (each checked once here)."""
    from clevrlang import get_backend
    from clevrlang.language.program import Program
    from clevrlang.runtime import render

    backend = get_backend("symbolic")
    programs, scenes = batch.programs, batch.scenes
    nodes = [q.raw["program"] for q in batch.questions]
    out = {
        "ours (warm)": lambda: backend.answer(programs, scenes),
        "ours (from JSON)": lambda: backend.answer(
            [Program.from_clevr_json(p) for p in nodes], scenes),
    }
    if engine is not None:
        question_engine, metadata = engine
        items = batch.reference_items()
        out["reference"] = lambda: [
            question_engine.answer_question(p, metadata, s, cache_outputs=False)
            for p, s in items]
    for name, run in out.items():
        got = run()
        got = [render(a) for a in got] if name == "reference" else got
        if got != batch.answers:
            raise AssertionError(f"{name} disagrees with the questions' answers on {batch.name}")
    return out


def compare(batch: Batch, engine, rounds: int = 15) -> dict:
    """Questions/s of each contender (median and best round) and ours / reference."""
    runs = contenders(batch, engine)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    n = len(batch.questions)
    result = {name: {"median_qps": n / statistics.median(ts), "best_qps": n / min(ts)}
              for name, ts in times.items()}
    if "reference" in times:
        ref = statistics.median(times["reference"])
        for name in runs:
            result[name]["x_reference"] = ref / statistics.median(times[name])
    return result


def main() -> None:
    engine = reference_engine()
    if engine is None:
        print(f"CLEVR's reference engine not found under {CLEVR_DATASET_GEN}; "
              "set CLEVR_DATASET_GEN to compare", file=sys.stderr)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for batch in (generator_batch(), world_batch()):
        print(f"{batch.name}: {len(batch.questions)} questions, {rounds} rounds")
        for name, r in compare(batch, engine, rounds).items():
            ratio = f"{r['x_reference']:6.1f}x" if "x_reference" in r else ""
            print(f"  {name:18s} {r['median_qps']:>11,.0f} q/s median "
                  f"{r['best_qps']:>11,.0f} best  {ratio}")


if __name__ == "__main__":
    main()
