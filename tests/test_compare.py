"""`clevr compare` writes the report from one command; its numbers are `clevr eval`'s."""

import json

import pytest


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from clevrlang.cli import main

    root = tmp_path_factory.mktemp("cmp") / "world"
    assert main(["world", "make", str(root), "--images", "6", "--split", "val",
                 "--questions-per-image", "5", "--seed", "3", "-q"]) == 0
    return root


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
