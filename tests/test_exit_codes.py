"""The exit-code convention (README "Exit codes", `clevr --help`): 0 success; 1 the program ran
and an answer or expectation failed; 2 the call was wrong; 3 an input could not be read.

A CI script must tell "my tests failed" (1) from "I called it wrong" (2) and "my file is
broken" (3); each case below is one a user meets in the first hour.
"""

from pathlib import Path

import pytest

from clevrlang.language import errors
from clevrlang.language.errors import ExitCode

from conftest import FIXTURES

SCENES = FIXTURES / "clevr_generator" / "scenes.json"
QUESTIONS = FIXTURES / "clevr_generator" / "questions_generator.json"
IMAGE = next((FIXTURES / "clevr_v1" / "CLEVR_v1.0" / "images" / "val").iterdir())


@pytest.fixture
def files(tmp_path):
    """Small inputs, named by what is wrong with them."""
    f = {
        "good.clv": "scene() |> count\nexpect scene() |> count == 10\n",
        "failing.clv": "expect scene() |> count == 10\nexpect scene() |> count == 99\n",
        "unique.clv": "scene() |> unique |> query_color\n",  # ten objects: cannot run
        "syntax.clv": "count(scene()",
        "type.clv": "count(unique(scene()))",
        "ugly.clv": "scene()|>count",
        "truncated.json": '{"scenes": [{"objects": [',
        "bad.safetensors": "not a checkpoint",
        "exists.xml": "",
        "exists.json": "",
    }
    for name, text in f.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_every_error_class_carries_its_code():
    table = {errors.ClevrSyntaxError: 3, errors.ClevrTypeError: 3, errors.DataError: 3,
             errors.CheckpointError: 3, errors.ExecutionError: 1, errors.UsageError: 2,
             errors.MissingFileError: 2}
    assert {cls: cls.exit_code for cls in table} == table
    assert errors.MissingFileError("x").exit_code == ExitCode.USAGE  # not DataError's 3


CASES = [
    # 0: success
    (0, lambda d: ["check", d / "good.clv"]),
    (0, lambda d: ["run", d / "good.clv", "--scenes", SCENES]),
    (0, lambda d: ["eval", d / "good.clv", "--scenes", SCENES]),
    # 1: the program ran; an answer or expectation failed
    (1, lambda d: ["run", d / "failing.clv", "--scenes", SCENES]),
    (1, lambda d: ["eval", d / "failing.clv", "--scenes", SCENES]),
    (1, lambda d: ["run", d / "unique.clv", "--scenes", SCENES]),  # an ExecutionError
    (1, lambda d: ["fmt", "--check", d / "ugly.clv"]),
    # 2: the call was wrong
    (2, lambda d: ["check"]),  # a missing argument (click)
    (2, lambda d: ["check", d / "good.clv", "--bogus"]),  # an unknown option (click)
    (2, lambda d: ["frobnicate"]),  # an unknown command
    (2, lambda d: ["train", "bogus"]),
    (2, lambda d: ["run", d / "good.clv", "--scenes", SCENES, "--backend", "symbolc"]),
    (2, lambda d: ["eval", d / "good.clv", "--scenes", SCENES, "--backend", "bogus"]),
    (2, lambda d: ["eval", "--questions", QUESTIONS, "--scenes", SCENES,
                   "--backend", "symbolic,bogus"]),
    (2, lambda d: ["compare", "--world", d, "--compress", "nocodec:128"]),  # unknown codec
    (2, lambda d: ["run", d / "good.clv", "--scenes", SCENES, "--index", "99"]),
    (2, lambda d: ["check", d / "missing.clv"]),  # missing files
    (2, lambda d: ["run", d / "good.clv", "--scenes", d / "missing.json"]),
    (2, lambda d: ["eval", "--questions", d / "missing.json"]),
    (2, lambda d: ["run", d / "good.clv", "--image", d / "missing.png", "--backend", "learned"]),
    (2, lambda d: ["eval", d / "good.clv", "--scenes", SCENES, "--junit", d / "exists.xml"]),
    (2, lambda d: ["eval", "--questions", QUESTIONS, "--scenes", SCENES,
                   "--predictions", d / "exists.json"]),
    (2, lambda d: ["convert", QUESTIONS, d / "good.clv"]),  # would overwrite
    (2, lambda d: ["run", d / "good.clv", "--world", FIXTURES / "clevr_v1" / "CLEVR_v1.0",
                   "--scenes", SCENES]),  # options that clash
    (2, lambda d: ["eval"]),  # nothing to evaluate
    # 3: an input could not be read
    (3, lambda d: ["check", d / "syntax.clv"]),
    (3, lambda d: ["run", d / "type.clv", "--scenes", SCENES]),
    (3, lambda d: ["run", d / "good.clv", "--scenes", d / "truncated.json"]),
    (3, lambda d: ["eval", "--questions", d / "truncated.json", "--scenes", SCENES]),
    (3, lambda d: ["convert", d / "truncated.json", d / "out.clv"]),
    (3, lambda d: ["run", d / "good.clv", "--image", IMAGE, "--backend", "learned",
                   "--checkpoint", d / "bad.safetensors"]),  # a corrupt checkpoint
]


def _id(case) -> str:
    code, args = case
    return f"{code}: clevr " + " ".join(Path(str(a)).name for a in args(Path(".")))


@pytest.mark.parametrize("code, args", CASES, ids=[_id(c) for c in CASES])
def test_exit_code(files, cli, code, args):
    got, out, err = cli(*args(files))
    assert got == code, (out, err)
    assert "Traceback" not in out + err
    if code in (2, 3):
        assert err.strip(), "a wrong call or an unreadable input says why"


def test_the_readme_documents_the_convention():
    from conftest import FIXTURES as fixtures

    readme = (fixtures.parent.parent / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ExitCode:
        assert f"| {int(code)} |" in section, code
