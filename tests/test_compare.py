"""`clevr compare` writes the report from one command; its numbers are `clevr eval`'s."""

import json

import pytest


def _make_world(root, images: int, seed: int):
    from clevrlang.cli import main

    assert main(["world", "make", str(root), "--images", str(images), "--split", "val",
                 "--questions-per-image", "5", "--seed", str(seed), "-q"]) == 0
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return _make_world(tmp_path_factory.mktemp("cmp") / "world", 6, 3)


def test_compare_report_matches_eval(world, cli, tmp_path):
    out = tmp_path / "report"
    code, stdout, err = cli("compare", "--world", world, "--backend", "symbolic", "--out", out)
    assert code == 0, err
    for name in ("README.md", "results.json", "accuracy_by_type.png"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    code, stdout, _ = cli("eval", "--questions", world / "questions" / "CLEVR_val_questions.json",
                          "--scenes", world / "scenes" / "CLEVR_val_scenes.json", "--json")
    assert code == 0
    assert json.loads(stdout)["symbolic"] == {k: v for k, v in results["symbolic"].items()
                                              if k in ("overall", "correct", "total", "by_type")}
    readme = (out / "README.md").read_text()
    assert "| symbolic | 100.00 |" in readme and "Q-Color" in readme


def test_compare_rejects_bad_compress_spec(world, cli):
    code, _, err = cli("compare", "--world", world, "--compress", "jpeg")
    assert code == 2 and "CODEC:BYTES" in err


def test_compress_rows_are_the_codec_round_trip_answered(world, tmp_path):
    """`--compress jpeg:B` runs `load(<image>) |> compress[jpeg, bytes=B] |> scene |> ...`
    for each question; its answers and mean bytes are those of coding each image once and
    answering the decoded images (what compare computed outside the language before)."""
    from clevrlang.backends import get_backend
    from clevrlang.compress import get_codec
    from clevrlang.evaluation import find_image
    from clevrlang.images import load_image
    from clevrlang import parse
    from clevrlang.image_pass import rewrite

    try:
        backend = get_backend("learned", device="cpu")
    except Exception as e:
        pytest.skip(f"no default learned model installed ({e})")
    from clevrlang.compare import compressed_programs, run_comparison, write_report

    cmp = run_comparison(str(world), "val", ["learned"], [("jpeg", 1500)], progress=False)
    plain, row = cmp.rows
    assert (row.label, row.codec, row.budget) == ("learned+jpeg@1500B", "jpeg", 1500)
    write_report(cmp, tmp_path / "report", str(world))
    assert (tmp_path / "report" / "accuracy_vs_bytes.png").stat().st_size > 0
    assert "| learned+jpeg@1500B |" in (tmp_path / "report" / "README.md").read_text()

    from clevrlang.world.layout import open_world

    questions = [q for q in open_world(world).questions("val") if q.answer is not None]
    assert [q.question_index for q in questions] == [a.question_index for a in cmp.questions]
    jpeg, decoded, sizes = get_codec("jpeg"), {}, []
    for q in questions:
        path = find_image(str(world), q)
        if path not in decoded:
            c = jpeg.encode(load_image(path), 1500)
            sizes.append(int(c.nbytes))
            decoded[path] = jpeg.decode(c)
    answers = backend.answer([q.program for q in questions],
                             [decoded[find_image(str(world), q)] for q in questions],
                             errors="return")
    assert row.predictions == answers
    assert row.mean_bytes == pytest.approx(sum(sizes) / len(sizes))
    # Each question ran as one expression: its program on scene(<its image through jpeg>).
    for q, p in zip(questions, compressed_programs(questions, str(world), "jpeg", 1500)):
        image = parse(f'load("{find_image(str(world), q)}") |> compress[jpeg, bytes=1500]')
        assert rewrite(p) == (q.program.node, image.node)


def test_compare_streams_the_questions_in_chunks(world, tmp_path):
    """Read a chunk at a time, every row answers each chunk: the same report whatever the
    chunk, and what stays per question is its brief record."""
    from clevrlang.compare import Asked, run_comparison, write_report

    whole = run_comparison(str(world), "val", ["symbolic", "learned"], [("jpeg", 1500)],
                           progress=False)
    parts = run_comparison(str(world), "val", ["symbolic", "learned"], [("jpeg", 1500)],
                           progress=False, chunk=4)
    assert [r.label for r in parts.rows] == ["symbolic", "learned", "learned+jpeg@1500B"]
    for a, b in zip(whole.rows, parts.rows):
        assert a.predictions == b.predictions and a.table == b.table
        assert a.mean_bytes == b.mean_bytes
    assert parts.questions == whole.questions and len(parts.questions) == 30
    assert all(type(q) is Asked for q in parts.questions)
    write_report(whole, tmp_path / "a", str(world))
    write_report(parts, tmp_path / "b", str(world))
    assert (tmp_path / "a" / "README.md").read_text() == (tmp_path / "b" / "README.md").read_text()
    limited = run_comparison(str(world), "val", ["symbolic"], progress=False, chunk=4, limit=7)
    assert limited.questions == whole.questions[:7]
    assert limited.rows[0].predictions == whole.rows[0].predictions[:7]


def test_compare_of_a_missing_split_is_a_clear_error(world, cli):
    code, _, err = cli("compare", "--world", world, "--split", "test")
    assert code == 3 and "no split 'test'" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def other_world(tmp_path_factory):
    return _make_world(tmp_path_factory.mktemp("cmp2") / "other", 4, 4)


def test_compare_on_several_worlds_reports_each(world, other_world, cli, tmp_path):
    """Several --world: the rows' accuracy per world side by side, and each world's own
    numbers are what compare gives on that world alone."""
    out = tmp_path / "both"
    code, stdout, err = cli("compare", "--world", world, "--world", other_world, "--backend",
                            "symbolic", "--out", out, "-q")
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["world", "other"]
    assert results["other"]["world"] == str(other_world)
    assert results["other"]["split"] == "val"
    assert results["world"]["symbolic"]["total"] == 30
    assert results["other"]["symbolic"]["total"] == 20
    readme = (out / "README.md").read_text()
    assert "| symbolic | 100.00 | 100.00 |" in readme
    assert "## other" in readme and "Q-Color" in readme
    assert (out / "accuracy_by_world.png").stat().st_size > 0
    code, _, _ = cli("compare", "--world", other_world, "--backend", "symbolic",
                     "--out", tmp_path / "one", "-q")
    alone = json.loads((tmp_path / "one" / "results.json").read_text())
    assert alone["symbolic"] == {k: v for k, v in results["other"]["symbolic"].items()}
    code, _, err = cli("compare", "--world", world, "--world", other_world)
    assert code == 2 and "--out" in err


def test_compare_on_several_splits_of_one_world(tmp_path, cli):
    """--split valA,valB: CoGenT's two conditions made into one world, side by side."""
    root = tmp_path / "cogent"
    for cond, seed in (("A", 5), ("B", 6)):
        code, _, err = cli("world", "make", root, "--images", "3", "--split", "val",
                           "--cogent", cond, "--questions-per-image", "4", "--seed", seed, "-q")
        assert code == 0, err
    code, _, err = cli("compare", "--world", root, "--split", "valA,valB", "--backend",
                       "symbolic", "--out", tmp_path / "r", "-q")
    assert code == 0, err
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [(k, v["split"]) for k, v in results.items()] == [("valA", "valA"), ("valB", "valB")]
    assert results["valB"]["symbolic"]["total"] == 12
    code, _, err = cli("compare", "--world", root, "--split", "valA,valC", "--backend",
                       "symbolic", "--out", tmp_path / "s", "-q")
    assert code == 3 and "valC" in err and "Traceback" not in err


def test_compare_models_of_one_backend_are_rows(world, cli, tmp_path):
    """--model BACKEND=PATH: one row per model, named after it; their answers are those of
    clevr eval with that --model."""
    from clevrlang.modules.learned.backend import resolve_checkpoint

    try:
        installed = str(resolve_checkpoint(None))
    except Exception as e:
        pytest.skip(f"no default learned model installed ({e})")
    other = tmp_path / "mine" / "model.safetensors"
    other.parent.mkdir()
    other.write_bytes(open(installed, "rb").read())
    out = tmp_path / "r"
    code, _, err = cli("compare", "--world", world, "--backend", "learned", "--model",
                       "learned=default", "--model", f"learned={other}", "--out", out, "-q")
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["learned:default", "learned:mine"]
    assert results["learned:default"]["by_type"] == results["learned:mine"]["by_type"]
    code, stdout, _ = cli("eval", "--questions", world / "questions" / "CLEVR_val_questions.json",
                          "--images", world / "images" / "val", "--backend", "learned",
                          "--model", other, "--json", "-q")
    assert json.loads(stdout)["learned"]["overall"] == results["learned:mine"]["overall"]


@pytest.mark.parametrize("spec, message", [("learned", "BACKEND=PATH"),
                                           ("learnd=default", "unknown back end"),
                                           ("learned=/no/such/file", "no such file"),
                                           ("engineered=default", "not compared")])
def test_compare_rejects_bad_model_specs(world, cli, spec, message):
    code, _, err = cli("compare", "--world", world, "--backend", "symbolic,learned",
                       "--model", spec)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_budget_an_image_cannot_fit_fails_its_questions_not_the_comparison(world):
    """JPEG cannot code a 320x240 scene in 100 B: inside the language that is an execution
    error of that image (its questions count wrong), where the codec's own API calls it the
    caller's error; the other rows are answered as usual."""
    import numpy as np

    from clevrlang.codecs import apply
    from clevrlang.compare import run_comparison
    from clevrlang.compress import get_codec
    from clevrlang.language.errors import BudgetTooSmall, ExecutionError, UsageError

    image = np.full((240, 320, 3), 90, np.uint8)
    image[::7] = 200  # stripes: more than JPEG's smallest scan fits in 100 B
    with pytest.raises(BudgetTooSmall) as caught:
        get_codec("jpeg").encode(image, 100)
    assert isinstance(caught.value, UsageError)
    with pytest.raises(ExecutionError, match="below the smallest jpeg payload"):
        apply("compress", ("jpeg", 100), [image])
    cmp = run_comparison(str(world), "val", ["symbolic", "engineered"], [("jpeg", 100)],
                         progress=False)
    rows = {r.label: r for r in cmp.rows}
    coded = rows["engineered+jpeg@100B"].table
    assert rows["symbolic"].table.correct == len(cmp.questions)
    assert coded.correct == 0 and coded.total == len(cmp.questions)
    assert rows["engineered"].table.correct > 0
