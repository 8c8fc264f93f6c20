import os
import pathlib

import pytest

# Ultralytics reads its config folder once, at import, and any test may be the first to load
# a perception back end: the project cache points into pytest's tmp before any test runs.


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("clevrlang-cache")
    old = os.environ.get("CLEVRLANG_CACHE")
    os.environ["CLEVRLANG_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("CLEVRLANG_CACHE", None)
    else:
        os.environ["CLEVRLANG_CACHE"] = old


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
