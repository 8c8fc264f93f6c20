"""LearnedBackend: batched answers, probabilities, failures, the interpreter, explain PNGs."""

import pytest
import torch

from clevrlang import parse
from clevrlang.backends import get_backend
from clevrlang.language.errors import CheckpointError, ExecutionError, UsageError
from clevrlang.modules.learned.checkpoint import save_model
from clevrlang.modules.learned.model import ANSWER_SETS
from clevrlang.runtime import Failure

PROGRAMS = ["count(filter[red](scene()))", "exist(filter[cube](scene()))",
            "query_shape(unique(filter[large](scene())))",
            "less_than(count(filter[metal](scene())), count(scene()))"]


@pytest.fixture
def backend(tmp_path, tiny_model):
    path = tmp_path / "ck" / "best.safetensors"
    save_model(path, tiny_model)
    return get_backend("learned", checkpoint=tmp_path / "ck", device="cpu")


@pytest.fixture
def images(toy):
    return [toy.images[i % len(toy.images)] for i in range(len(PROGRAMS))]


def test_answers_have_the_programs_type(backend, images):
    programs = [parse(p) for p in PROGRAMS]
    out = backend.answer_with_probability(programs, images)
    for program, (answer, p) in zip(programs, out):
        assert answer in ANSWER_SETS[program.node.type]
        assert 0 < p <= 1
    assert backend.answer(programs, images) == [a for a, _ in out]
    assert backend.name == "learned" and backend.needs == "images"


def test_batch_equals_one_by_one(backend, images):
    programs = [parse(p) for p in PROGRAMS]
    together = backend.answer_with_probability(programs, images)
    alone = [backend.answer_with_probability([p], [i])[0] for p, i in zip(programs, images)]
    for (a, p), (b, q) in zip(together, alone):
        assert a == b and abs(p - q) < 1e-5


def test_interpreter_agrees_with_batch(backend, images):
    program = parse(PROGRAMS[2])
    interp = backend.interpreter(images[0])
    answer, p = interp.answer(program.node)
    b, q = backend.answer_with_probability([program], [images[0]])[0]
    assert answer == b and abs(p - q) < 1e-5
    assert interp.value(program.node) == answer  # a question's value is its answer
    value = interp.values[program.node]
    assert value.shape[1:] == (8, 6, 8) and not value.requires_grad  # feature maps
    assert "features" in interp.describe(program.node, value)
    unique = program.node.inputs[0]
    assert interp.value(unique).shape == value.shape  # sets and objects: their maps


def test_failures(backend, images):
    bad = parse("filter[red](scene())")  # an object set has no answer
    with pytest.raises(ExecutionError, match="Objects"):
        backend.answer([bad], images[:1])
    out = backend.answer([bad, parse(PROGRAMS[0])], images[:2], errors="return")
    assert isinstance(out[0], Failure) and isinstance(out[1], str)
    with pytest.raises(UsageError):
        backend.answer([bad], images[:2])


def test_explain_writes_a_png(backend, images, tmp_path):
    path = backend.explain(parse(PROGRAMS[3]), images[0], tmp_path / "why.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    interp = backend.interpreter(images[1])
    interp.value(parse(PROGRAMS[0]).node)
    assert interp.draw(tmp_path / "show.png").is_file()  # clevr run --show


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="no best/model/last"):
        get_backend("learned", checkpoint=tmp_path)
