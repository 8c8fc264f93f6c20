"""The image pass (clevrlang.image_pass): programs that read their own image, through a codec,
answered as one batch with the interpreter's answers, on every back end."""

from __future__ import annotations

import pytest

from clevrlang import parse
from clevrlang.image_pass import answer, rewrite, with_image
from clevrlang.language.errors import ClevrError
from clevrlang.language.ir import Node
from clevrlang.runtime import Failure, render
from clevrlang.world.make import WorldSpec, make_world

BUDGET = 1500


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("pass") / "world"
    make_world(out, WorldSpec(images=3, split="val", questions_per_image=3, seed=9,
                              block_size=3), progress=False)
    return out


@pytest.fixture(scope="module")
def questions(world):
    from clevrlang import load_questions

    return load_questions(world / "questions" / "CLEVR_val_questions.json")


def _image(world, q) -> str:
    return str(world / "images" / "val" / q.image_filename)


def _through_jpeg(path: str, budget: int = BUDGET) -> Node:
    return parse(f'load("{path}") |> compress[jpeg, bytes={budget}]').node


def _batch(world, questions) -> list[Node]:
    """Every question through JPEG on its own image; programs that read two images (one of
    them the current image); a plain program on the current image; one with nbytes."""
    programs = [with_image(q.program.node, _through_jpeg(_image(world, q))) for q in questions]
    a, b = (_image(world, q) for q in (questions[0], questions[-1]))
    programs += [
        parse(f'equal_integer(count(scene(load("{a}") |> compress[jpeg, bytes={BUDGET}])), '
              f'count(scene(load("{b}"))))').node,
        parse(f'less_than(count(scene(load("{a}"))), count(scene()))').node,
        parse("scene() |> filter[red] |> count").node,
        parse(f'nbytes(encode[jpeg, bytes={BUDGET}](load("{b}")))').node,
    ]
    return programs


def _interpreted(backend, programs, context) -> list:
    """What ``clevr run`` prints: each program on a fresh interpreter."""
    from clevrlang.inputs import uses_current_input

    out = []
    for p in programs:
        try:
            out.append(render(backend.interpreter(context if uses_current_input(p) else None)
                              .value(p)))
        except ClevrError as e:
            out.append(Failure.of(e))
    return out


class Recording:
    """The real back end, with the batches it was handed kept (to see what the pass sends)."""

    def __init__(self, backend):
        self.inner, self.calls = backend, []
        self.name, self.needs = backend.name, backend.needs

    def answer(self, programs, inputs, *, errors="raise"):
        self.calls.append((list(programs), list(inputs)))
        return self.inner.answer(programs, inputs, errors=errors)

    def interpreter(self, context):
        return self.inner.interpreter(context)


# -- the rewrite, on the IR alone ------------------------------------------------------------

def test_rewrite_undoes_with_image(questions):
    image = _through_jpeg("a.png")
    for q in questions:
        program, img = rewrite(with_image(q.program.node, image))
        assert program is q.program.node and img is image
        assert rewrite(q.program.node) == (q.program.node, None)


def test_what_is_not_rewritten():
    one = 'load("a.png") |> compress[jpeg, bytes=640]'
    shared = parse(f"let i = {one}\nequal_integer(count(scene(i)), "
                   "count(filter[red](scene(i))))").node
    program, img = rewrite(shared)  # one image read twice: one input
    assert program is parse("equal_integer(count(scene()), count(filter[red](scene())))").node
    assert img is parse(one).node
    for text in (f'equal_integer(count(scene({one})), count(scene(load("a.png"))))',
                 f"equal_integer(count(scene({one})), count(scene()))",
                 f'equal_integer(count(scene({one})), nbytes(encode[jpeg, bytes=9]('
                 'load("a.png"))))'):
        assert rewrite(parse(text).node) is None, text


# -- answers: the interpreter's, in one batched call -------------------------------------------

def _need(name):
    from clevrlang.backends import get_backend

    try:
        return get_backend(name, device="cpu")
    except Exception as e:
        pytest.skip(f"no default {name} model installed ({e})")


@pytest.fixture(scope="module", params=["learned", "engineered"])
def perception(request):
    return _need(request.param)


def test_answers_equal_the_interpreters(perception, world, questions):
    from clevrlang.images import load_image

    current = load_image(_image(world, questions[1]))
    programs = _batch(world, questions)
    backend, sizes = Recording(perception), {}
    got = answer(backend, programs, [current] * len(programs), errors="return", nbytes=sizes)
    assert got == _interpreted(perception, programs, current)
    assert sum(isinstance(a, str) for a in got) > len(got) // 2  # mostly answers, not failures
    # One batch for the rewritten questions: scene() programs, one decoded image per file.
    [(rewritten, images)] = [c for c in backend.calls if c[1][0] is not current]
    assert len(rewritten) == len(questions)  # the two-image questions were interpreted
    assert all(p is rewrite(p)[0] for p in rewritten)
    assert len({id(i) for i in images}) == len({q.image_filename for q in questions})
    # Each code's size, by the compress node that made it.
    assert len(sizes) == len({q.image_filename for q in questions})
    assert all(0 < n <= BUDGET for n in sizes.values())


def test_chunks_bound_the_decoded_images(world, questions):
    backend = Recording(_need("learned"))
    programs = _batch(world, questions)[:len(questions)]
    whole = answer(backend.inner, programs, errors="return")
    assert answer(backend, programs, errors="return", images_per_chunk=1) == whole
    assert len(backend.calls) == len({q.image_filename for q in questions})
    assert all(len({id(i) for i in images}) == 1 for _, images in backend.calls)


def test_symbolic_interprets_what_reads_an_image(world, questions):
    """The symbolic back end reads a world image's true scene by the interpreter; the batch
    around it stays on the plan (today's plan refuses the whole batch)."""
    from clevrlang import load_scenes
    from clevrlang.backends import get_backend

    scenes = load_scenes(world / "scenes" / "CLEVR_val_scenes.json")
    backend = get_backend("symbolic")
    own = [with_image(q.program.node, parse(f'load("{_image(world, q)}")').node)
           for q in questions]
    inputs = [scenes[q.image_index] for q in questions] * 2
    got = answer(backend, [q.program for q in questions] + own, inputs, errors="return")
    assert got == [q.answer for q in questions] * 2


def test_failures_are_returned_or_raised_with_the_question_number(world, questions):
    from clevrlang.language.errors import ExecutionError

    image = _through_jpeg(_image(world, questions[0]))
    ok = with_image(questions[0].program.node, image)
    objects = with_image(parse("scene() |> filter[red]").node, image)  # no answer to give
    learned = _need("learned")
    got = answer(learned, [ok, objects], errors="return")
    assert isinstance(got[0], str) and isinstance(got[1], Failure)
    with pytest.raises(ExecutionError, match="question 1"):
        answer(learned, [ok, objects], errors="raise")


def test_the_repl_runs_it_through_the_pass(world, questions):
    from clevrlang.repl.session import open_session

    lines = []
    s = open_session(world=str(world), index=0, backend="learned",
                     echo=lambda text, kind="out": lines.append((text, kind)))
    program = with_image(questions[2].program.node, _through_jpeg(_image(world, questions[2])))
    from clevrlang.language.program import Program

    assert s.execute(Program.from_node(program).to_clv())
    assert [k for _, k in lines] == ["out"], lines
    assert lines[0][0] == _interpreted(s.backend, [program], None)[0]
