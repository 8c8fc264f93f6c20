"""The perception back ends from the command line, with the models installed by default:
`clevr run --show/--explain/--checkpoint`, `clevr eval --model/--ablate/--explain`."""

import json

import pytest
from PIL import Image

from clevrlang.world.make import WorldSpec, make_world

PROGRAM = "scene() |> filter[red] |> count\nscene() |> filter[large metal] |> exist\n"


def _need(name):
    """Skip unless the back end's default model is installed (checked when the test runs:
    loading it at collection would import ultralytics before the cache is isolated)."""
    from clevrlang.backends import get_backend

    try:
        get_backend(name, device="cpu")
    except Exception as e:
        pytest.skip(f"no default {name} model installed ({e})")


@pytest.fixture
def needs_engineered():
    _need("engineered")


@pytest.fixture
def needs_learned():
    _need("learned")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    make_world(out, WorldSpec(images=3, split="val", questions_per_image=4, seed=5,
                              block_size=3), progress=False)
    return out


@pytest.fixture
def prog(tmp_path):
    p = tmp_path / "q.clv"
    p.write_text(PROGRAM)
    return p


def _paths(world):
    return (world / "questions" / "CLEVR_val_questions.json",
            world / "scenes" / "CLEVR_val_scenes.json", world / "images" / "val")


@pytest.mark.usefixtures("needs_engineered")
def test_run_show_draws_the_detections(world, prog, tmp_path, cli):
    image = next((world / "images" / "val").iterdir())
    png = tmp_path / "show.png"
    code, out, err = cli("run", prog, "--image", image, "--backend", "engineered",
                         "--show", png)
    assert code == 0, err
    assert f"wrote {png}" in out
    with Image.open(png) as drawn, Image.open(image) as original:
        assert drawn.size == (2 * original.width, 2 * original.height)


@pytest.mark.usefixtures("needs_engineered")
def test_eval_ablate_prints_the_table_and_writes_a_png(world, tmp_path, cli):
    q, s, images = _paths(world)
    png = tmp_path / "ablation.png"
    code, out, err = cli("eval", "--questions", q, "--scenes", s, "--images", images,
                         "--backend", "engineered", "--ablate", png, "--json")
    assert code == 0, err
    results = json.loads(out[:out.index("\n}\n") + 3])
    assert set(results) == {"engineered"}
    ablation = json.loads(out[out.index("\n}\n") + 3:])["ablation"]
    rows = {r["replaced"]: r for r in ablation["rows"]}
    assert set(rows) == {"none", "detection", "shape", "color", "material", "size", "depth",
                         "all"}
    assert rows["all"]["qa_accuracy"] == 1.0  # everything from the truth: the oracle
    assert ablation["questions"] == 12
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli("eval", "--questions", q, "--scenes", s, "--images", images,
                       "--backend", "engineered", "--ablate", png)
    assert code == 2 and "--force" in err  # an existing PNG is not overwritten silently


def test_ablate_needs_the_truth(world, tmp_path, cli):
    q, _, images = _paths(world)
    code, _, err = cli("eval", "--questions", q, "--images", images, "--backend",
                       "engineered", "--ablate", tmp_path / "a.png")
    assert code == 2 and "needs --scenes" in err


def test_unknown_model_folder_is_refused_before_running(world, cli):
    q, s, images = _paths(world)
    code, _, err = cli("eval", "--questions", q, "--scenes", s, "--images", images,
                       "--backend", "engineered", "--model", "/no/such/model")
    assert code == 2 and "does not exist" in err


@pytest.mark.usefixtures("needs_learned")
def test_run_learned_prints_probabilities_and_explains(world, prog, tmp_path, cli):
    image = next((world / "images" / "val").iterdir())
    code, out, err = cli("run", prog, "--image", image, "--backend", "learned",
                         "--explain", tmp_path / "x")
    assert code == 0, err
    assert out.count("(p=") == 2
    pngs = sorted((tmp_path / "x").glob("*.png"))
    assert [p.name for p in pngs] == ["line_1.png", "line_2.png"]


@pytest.mark.usefixtures("needs_learned")
def test_eval_learned_explain_writes_one_png_per_question(world, tmp_path, cli):
    q, _, images = _paths(world)
    code, out, err = cli("eval", "--questions", q, "--images", images, "--backend", "learned",
                         "--limit", "2", "--explain", tmp_path / "x")
    assert code == 0, err
    assert len(list((tmp_path / "x").glob("question_*.png"))) == 2


def test_explain_on_the_symbolic_back_end_is_a_usage_error(world, prog, tmp_path, cli):
    s = world / "scenes" / "CLEVR_val_scenes.json"
    code, _, err = cli("run", prog, "--scene", s, "--explain", tmp_path / "x")
    assert code == 2 and "nothing to --explain" in err


@pytest.mark.parametrize("backend", ["engineered", "learned"])
def test_compress_then_answer_is_one_expression(world, tmp_path, cli, backend):
    """The program loads its own image, so no --image is needed; image-level results
    (nbytes, ssim) come back as values beside the back end's answers."""
    _need(backend)
    image = next((world / "images" / "val").iterdir())
    p = tmp_path / "c.clv"
    p.write_text(f'let img = load("{image}")\n'
                 "img |> compress[jpeg, bytes=3000] |> scene |> count\n"
                 "nbytes(encode[jpeg, bytes=3000](img))\n")
    code, out, err = cli("run", p, "--backend", backend)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split(": ")[1].split()[0] in [str(n) for n in range(11)]
    assert 1000 < int(lines[1].split(": ")[1]) <= 3000
