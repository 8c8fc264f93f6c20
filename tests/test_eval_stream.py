"""`clevr eval` a chunk of questions at a time (clevrlang/question_stream.py, eval_stream.py):
the same questions and errors as load_questions, the same answers as the whole list."""

import json

import pytest

from clevrlang.datafiles import load_questions
from clevrlang.eval_stream import evaluate_file
from clevrlang.evaluation import evaluate
from clevrlang.language.errors import ClevrError
from clevrlang.question_stream import QuestionFile
from clevrlang.world.make import WorldSpec, make_world

Q = {"question_index": 3, "image_index": 0, "answer": "yes",
     "program": [{"function": "scene", "inputs": [], "value_inputs": []},
                 {"function": "exist", "inputs": [0], "value_inputs": []}]}
GOOD = json.dumps({"info": {"split": "val"}, "questions": [Q] * 7})
TEXTS = [GOOD, GOOD[:-1], GOOD[:-5], GOOD + "x", json.dumps([Q]), "[]", '{"questions": []}',
         '{"questions": 5}', '{"info": {}}', '{"questions": [1]}', f"[{json.dumps(Q)},]",
         '{"questions": [], }', '{1: 2}', "", "  ", "null", '{"questions": [12',
         json.dumps({"questions": [Q], "info": {"split": "x"}}),  # info after the questions
         json.dumps({"a": [1, {"b": 3}], "questions": [Q, Q]}),
         '{"questions": [1, 2' + " " * 50,  # a bad question, then bad JSON: the JSON error
         '{"questions": [{"q": "' + "x" * 5000 + '"}]}', "[" * 100_000]


def outcome(read):
    try:
        return "ok", read()
    except ClevrError as e:
        return "error", type(e).__name__, str(e)


@pytest.mark.parametrize("block", [5, 1 << 20])
@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_same_questions_and_errors_as_load_questions(text, block, tmp_path, monkeypatch):
    import clevrlang.question_stream as qs

    monkeypatch.setattr(qs, "BLOCK", block)  # values cut by a block's end are read again
    path = tmp_path / "q.json"
    path.write_text(text)

    def streamed():
        qf = QuestionFile(path)
        got = [(q.raw, q.info, q.index) for part in qf.chunks(3) for q in part]
        assert len(got) == len(qf)
        return got

    assert outcome(streamed) == outcome(
        lambda: [(q.raw, q.info, q.index) for q in load_questions(path)])


def test_limit_and_missing_programs(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps([Q, {"image_index": 0}, Q, {"image_index": 1}]))
    assert QuestionFile(path).missing == [1, 3]
    short = QuestionFile(path, limit=2)
    assert len(short) == 2 and short.missing == [1]
    assert [q.index for part in short.chunks(5) for q in part] == [0, 1]


def test_unreadable_files_are_the_same_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"questions": [\xff]}')
    for path in (bad, tmp_path / "missing.json", tmp_path):
        assert outcome(lambda: QuestionFile(path)) == outcome(lambda: load_questions(path))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    make_world(out, WorldSpec(images=4, split="val", questions_per_image=5, seed=9,
                              block_size=4), progress=False)
    return out


def files(world):
    return (world / "questions" / "CLEVR_val_questions.json",
            world / "scenes" / "CLEVR_val_scenes.json", world / "images" / "val")


@pytest.mark.parametrize("backend", ["symbolic", "learned", "engineered"])
def test_streamed_answers_equal_the_whole_list(world, backend):
    questions, scenes, images = files(world)
    whole = load_questions(questions)
    chunk = 7  # 5 questions per image: chunks end inside an image's questions
    at = [whole[k].image_index for k in range(chunk - 1, chunk + 1)]
    assert at[0] == at[1]
    from clevrlang.datafiles import load_scenes

    options = {backend: {} if backend == "symbolic" else {"device": "cpu"}}
    (want,) = evaluate([backend], whole, load_scenes(scenes), str(images), options)
    (got,), asked = evaluate_file([backend], QuestionFile(questions), str(scenes), str(images),
                                  options, chunk=chunk)
    assert got.predictions == want.predictions
    assert got.table == want.table and got.table.total == len(whole)
    assert got.predictions_json(asked) == want.predictions_json(whole)


def test_scenes_are_read_only_for_a_back_end_that_needs_them(world, tmp_path):
    questions, _, images = files(world)
    absent = str(tmp_path / "no_scenes.json")
    options = {"learned": {"device": "cpu"}}
    (result,), _ = evaluate_file(["learned"], QuestionFile(questions), absent, str(images),
                                 options)
    assert result.table.total == 20
    with pytest.raises(ClevrError, match="no such file"):
        evaluate_file(["symbolic"], QuestionFile(questions), absent, str(images))


def test_eval_world_predictions_file(world, tmp_path, cli):
    out = tmp_path / "p.json"
    code, stdout, err = cli("eval", "--world", world, "--backend", "symbolic", "--limit", "6",
                            "--predictions", out, "--quiet")
    assert code == 0, err
    assert "6 questions" in stdout and "symbolic: 100.00% correct (6/6)" in stdout
    whole = load_questions(files(world)[0])[:6]
    assert [p["question_index"] for p in json.loads(out.read_text())["predictions"]] == \
        [q.question_index for q in whole]
