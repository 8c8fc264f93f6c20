"""Speed of compress-then-answer: the image pass (one batch) vs the interpreter (one question
at a time), with the installed default models, on one torch thread.

Run: ``pytest tests/bench/test_bench_image_pass.py --benchmark-enable --benchmark-only``.

200 questions of a 20-image world (``clevr world make W --images 20 --split val --seed 7``),
each ``load(<its image>) |> compress[jpeg, bytes=1280] |> scene |> <its program>`` (what
``clevr compare --compress jpeg:1280`` runs). The engineered interpreter perceives its image
once per question (~0.07-0.09 s each on this CPU), so it runs on the first 40 questions only.
Both paths must give the same answers.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

INTERPRETED = {"learned": 200, "engineered": 40}


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    from clevrlang import load_questions
    from clevrlang.compare import compressed_programs
    from clevrlang.world.make import WorldSpec, make_world

    world = tmp_path_factory.mktemp("bench-pass") / "world"
    make_world(world, WorldSpec(images=20, split="val", seed=7), progress=False)
    questions = load_questions(world / "questions" / "CLEVR_val_questions.json")
    return compressed_programs(questions, str(world), "jpeg", 1280)


@pytest.fixture(scope="module", params=["learned", "engineered"])
def backend(request):
    from clevrlang.backends import get_backend

    try:
        return get_backend(request.param, device="cpu")
    except Exception as e:
        pytest.skip(f"no default {request.param} model installed ({e})")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _interpreted(backend, programs) -> list:
    from clevrlang.language.errors import ClevrError
    from clevrlang.runtime import Failure, render

    out = []
    for p in programs:
        try:
            out.append(render(backend.interpreter(None).value(p)))
        except ClevrError as e:
            out.append(Failure.of(e))
    return out


def test_image_pass(benchmark, backend, programs):
    from clevrlang.image_pass import answer

    got = benchmark.pedantic(answer, (backend, programs), {"errors": "return"}, rounds=3)
    n = INTERPRETED[backend.name]
    assert got[:n] == _interpreted(backend, programs[:n])
    benchmark.extra_info["questions"] = len(programs)


def test_interpreter(benchmark, backend, programs):
    n = INTERPRETED[backend.name]
    benchmark.pedantic(_interpreted, (backend, programs[:n]), rounds=1)
    benchmark.extra_info["questions"] = n
