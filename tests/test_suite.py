"""`clevr run` and `clevr eval SUITE.clv`: expectations, exit codes, JUnit, JSON."""

import json

import xmlschema

from conftest import FIXTURES

SCENES = FIXTURES / "clevr_generator" / "scenes.json"


def _suite(tmp_path, wrong: bool):
    from clevrlang import get_backend, load_scenes, parse

    scene = load_scenes(SCENES)[0]
    n = get_backend("symbolic").answer([parse("scene() |> count")], [scene])[0]
    lines = [f"expect scene() |> count == {n}",
             "expect scene() |> exist == yes",
             f"expect scene() |> filter[cube] |> count == {int(n) + 1 if wrong else 'x'}"]
    if not wrong:
        lines.pop()
    f = tmp_path / "suite.clv"
    f.write_text("\n".join(lines) + "\n")
    return f


def test_passing_suite_exits_zero(tmp_path, cli):
    code, out, _ = cli("eval", _suite(tmp_path, False), "--scene", SCENES)
    assert code == 0 and "2/2" in out


def test_wrong_expectation_fails_and_is_named(tmp_path, cli):
    f = _suite(tmp_path, True)
    junit = tmp_path / "out.xml"
    code, out, err = cli("eval", f, "--scene", SCENES, "--junit", junit)
    assert code == 1
    assert f"{f}:3: symbolic: fail: expected" in err
    schema = xmlschema.XMLSchema(str(FIXTURES / "junit.xsd"))
    schema.validate(str(junit))
    doc = schema.to_dict(str(junit))
    suite = doc["testsuite"][0]
    assert suite["@failures"] == 1 and suite["@tests"] == 3
    code, out, _ = cli("eval", f, "--scene", SCENES, "--json")
    results = json.loads(out)
    assert [r["results"]["symbolic"]["status"] for r in results] == ["pass", "pass", "fail"]


def test_run_reports_expectations_and_exit_code(tmp_path, cli):
    f = _suite(tmp_path, True)
    code, out, _ = cli("run", f, "--scene", SCENES)
    assert code == 1 and "pass" in out and "FAIL" in out
    code, out, _ = cli("run", _suite(tmp_path, False), "--scene", SCENES, "--trace")
    assert code == 0 and "scene" in out and "Objects" in out


def test_symbolic_finds_the_ground_truth_scene_of_a_world_image(tmp_path, cli):
    import shutil

    from clevrlang.images import save_image
    import numpy as np

    root = tmp_path / "world"
    (root / "images" / "val").mkdir(parents=True)
    (root / "scenes").mkdir()
    shutil.copy(SCENES, root / "scenes" / "CLEVR_val_scenes.json")
    scene0 = json.loads(SCENES.read_text())["scenes"][0]
    save_image(np.zeros((8, 8, 3), np.uint8), root / "images" / "val" / scene0["image_filename"])
    f = tmp_path / "img.clv"
    f.write_text(f'load("{root}/images/val/{scene0["image_filename"]}") |> scene |> count\n')
    code, out, _ = cli("run", f)
    assert code == 0 and out.strip().endswith(str(len(scene0["objects"])))
