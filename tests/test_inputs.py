"""Which scene or image each result reads: `#@` questions run on their own scenes and images,
images are found beside their scenes, and a missing input is one usage error up front."""

import json

import pytest

from clevrlang.language.errors import ExitCode
from conftest import FIXTURES

SCENES = FIXTURES / "clevr_generator" / "scenes.json"
QUESTIONS = FIXTURES / "clevr_generator" / "questions_released.json"  # 400 over 40 images


def _objects(index):
    return len(json.loads(SCENES.read_text())["scenes"][index]["objects"])


@pytest.fixture
def converted(tmp_path, cli):
    clv = tmp_path / "qs.clv"
    assert cli("convert", QUESTIONS, clv)[0] == ExitCode.OK
    return clv


def test_converted_questions_run_on_their_own_scenes(converted, cli):
    code, out, err = cli("eval", converted, "--scenes", SCENES, "--json")
    statuses = [r["results"]["symbolic"]["status"] for r in json.loads(out)]
    assert len(statuses) == 400 and set(statuses) == {"pass"}, err
    assert code == ExitCode.OK
    code, out, _ = cli("run", converted, "--scene", SCENES)
    assert code == ExitCode.OK and out.count(": pass ") == 400


def test_metadata_picks_the_scene_and_index_the_rest(tmp_path, cli):
    f = tmp_path / "mixed.clv"
    f.write_text('#@ {"image_index": 5, "image_filename": "CLEVR_val_000005.png"}\n'
                 f"expect scene() |> count == {_objects(5)}\n"
                 f"expect scene() |> count == {_objects(2)}\n"
                 '#@ {"image_filename": "CLEVR_val_000007.png"}\n'
                 "let all = scene()\n"
                 f"expect all |> count == {_objects(7)}\n")
    code, out, err = cli("eval", f, "--scene", SCENES, "--index", 2, "--json")
    assert code == ExitCode.OK, err
    assert [r["results"]["symbolic"]["detail"] for r in json.loads(out)] == \
        [str(_objects(5)), str(_objects(2)), str(_objects(7))]


def test_a_suite_without_scenes_fails_once_before_running(converted, cli):
    code, out, err = cli("eval", converted)
    assert code == ExitCode.USAGE and out == ""
    assert err.count("error") == 1 and "400 result(s)" in err and "--scene" in err
    assert len(err.splitlines()) <= 6  # not one message per statement
    code, _, err = cli("run", converted)
    assert code == ExitCode.USAGE and err.count("error") == 1


def test_a_scene_missing_from_the_scenes_file_is_named(tmp_path, cli):
    f = tmp_path / "q.clv"
    f.write_text('#@ {"image_filename": "CLEVR_val_000099.png"}\nexpect scene() |> exist == yes\n')
    code, _, err = cli("eval", f, "--scene", SCENES)
    assert code == ExitCode.USAGE
    assert "has no scene for these images" in err and "CLEVR_val_000099.png" in err


# -- perception back ends: the image beside the scene --------------------------------------

def _need(name):
    """Skip unless the back end's default model is installed (checked when the test runs:
    loading it at collection would import ultralytics before the cache is isolated)."""
    from clevrlang.backends import get_backend

    try:
        get_backend(name, device="cpu")
    except Exception as e:
        pytest.skip(f"no default {name} model installed ({e})")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from clevrlang.world.make import WorldSpec, make_world

    out = tmp_path_factory.mktemp("world")
    make_world(out, WorldSpec(images=3, split="val", questions_per_image=2, seed=5,
                              block_size=3), progress=False)
    return out


@pytest.mark.parametrize("backend", ["engineered", "learned"])
def test_suite_finds_the_image_beside_its_scene(world, tmp_path, cli, backend):
    """--scene S --index 1 means the image of scene 1: the same answers as --image of it."""
    _need(backend)
    scenes = world / "scenes" / "CLEVR_val_scenes.json"
    image = world / "images" / "val" / "CLEVR_val_000001.png"
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count\nscene() |> filter[large metal] |> exist\n")
    code, want, err = cli("run", prog, "--image", image, "--backend", backend)
    assert code == ExitCode.OK, err
    code, got, err = cli("run", prog, "--scene", scenes, "--index", 1, "--backend", backend)
    assert code == ExitCode.OK and got == want, err
    answers = [line.split(": ", 1)[1].split()[0] for line in want.splitlines()]
    suite = tmp_path / "s.clv"
    suite.write_text(f"expect scene() |> count == {answers[0]}\n"
                     f"expect scene() |> filter[large metal] |> exist == {answers[1]}\n")
    code, out, err = cli("eval", suite, "--scene", scenes, "--index", 1, "--backend",
                         f"symbolic,{backend}", "--json")
    assert [r["results"][backend]["status"] for r in json.loads(out)] == ["pass", "pass"], err


def test_no_image_beside_the_scene_is_one_clear_error(converted, cli):
    _need("engineered")
    code, out, err = cli("eval", converted, "--scene", SCENES, "--backend", "engineered")
    assert code == ExitCode.USAGE and out == ""
    assert err.count("error") == 1 and "looked for" in err and "--images" in err
    assert "CLEVR_val_000000.png" in err and len(err.splitlines()) <= 6
