import os
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
# CLEVR's reference repository, when present, lets tests compare against its engine.
CLEVR_DATASET_GEN = os.environ.get("CLEVR_DATASET_GEN", "/work/ref/clevr-dataset-gen")


@pytest.fixture(scope="session")
def gen_fixture():
    from clevrlang import load_questions, load_scenes

    d = FIXTURES / "clevr_generator"
    return (load_scenes(d / "scenes.json"), load_questions(d / "questions_generator.json"),
            load_questions(d / "questions_released.json"))


@pytest.fixture
def cli(capsys):
    """Run the `clevr` command in-process: returns (exit code, stdout, stderr)."""
    from clevrlang.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
