"""`clevr train learned --world DIR`, then the learned back end on the world's questions."""

import json

import pytest

from .conftest import small_world

pytest.importorskip("clevrlang.world.questions")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return small_world(tmp_path_factory.mktemp("world"), train=8, val=4, block=4)


def test_train_then_answer(world, tmp_path, cli):
    out = tmp_path / "ck"
    args = ["train", "learned", "--world", world, "--out", out, "--epochs", "1", "--batch", "8",
            "--channels", "8", "--width", "64", "--save-every", "2", "--quiet"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    assert "Overall" in stdout and "Q-Color" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["image_size"] == [64, 40]
    code, _, stderr = cli(*args[:-1], "--resume", "--epochs", "2", "--quiet")
    assert code == 0, stderr

    from clevrlang.backends import get_backend
    from clevrlang.world.layout import open_world

    w = open_world(world)
    questions = w.questions("val")
    backend = get_backend("learned", checkpoint=out, device="cpu")
    images = [w.load_image("val", q.image_index) for q in questions]
    answers = backend.answer([q.program for q in questions], images)
    assert len(answers) == len(questions) and all(isinstance(a, str) for a in answers)


def test_resume_keeps_the_interrupted_networks_image_size(world, tmp_path, cli):
    # Resumed without repeating --width, the images must still be loaded at the run's size.
    args = ["train", "learned", "--world", world, "--out", tmp_path, "--batch", "8",
            "--channels", "8", "--save-every", "1", "--quiet"]
    code, _, stderr = cli(*args, "--width", "64", "--epochs", "1")
    assert code == 0, stderr
    code, _, stderr = cli(*args, "--resume", "--epochs", "2")
    assert code == 0, stderr
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["image_size"] == [64, 40] and config["info"]["step"] == 8


def test_missing_world_split_is_a_clear_error(tmp_path, cli):
    (tmp_path / "images").mkdir()
    code, _, stderr = cli("train", "learned", "--world", tmp_path, "--quiet")
    assert code == 3 and "no 'train' split" in stderr


def test_widen_an_init_checkpoint(world, tmp_path, cli):
    args = ["train", "learned", "--world", world, "--epochs", "1", "--batch", "8",
            "--width", "64", "--quiet"]
    code, _, stderr = cli(*args, "--channels", "8", "--out", tmp_path / "a")
    assert code == 0, stderr
    init = tmp_path / "a" / "model.safetensors"
    code, _, stderr = cli(*args, "--init", init, "--widen", "12", "--out", tmp_path / "b")
    assert code == 0, stderr
    assert json.loads((tmp_path / "b" / "config.json").read_text())["config"]["channels"] == 12
    code, _, stderr = cli(*args, "--init", init, "--widen", "8", "--out", tmp_path / "c")
    assert code == 2 and "already has 8 channels" in stderr and "Traceback" not in stderr
    code, _, stderr = cli(*args, "--widen", "12", "--out", tmp_path / "d")
    assert code == 2 and "--init" in stderr


def test_init_at_another_width(world, tmp_path, cli):
    args = ["train", "learned", "--world", world, "--epochs", "1", "--batch", "8",
            "--channels", "8", "--quiet"]
    for pool in ("global", "max2"):
        code, _, stderr = cli(*args, "--width", "64", "--pool", pool, "--out", tmp_path / pool)
        assert code == 0, stderr
    code, _, stderr = cli(*args, "--init", tmp_path / "global" / "model.safetensors",
                          "--width", "96", "--out", tmp_path / "wider")
    assert code == 0, stderr
    config = json.loads((tmp_path / "wider" / "config.json").read_text())["config"]
    assert config["image_size"] == [96, 64] and config["classifier_pool"] == "global"
    code, _, stderr = cli(*args, "--init", tmp_path / "max2" / "model.safetensors",
                          "--width", "96", "--out", tmp_path / "refused")
    assert code == 2 and "weights per position" in stderr and "Traceback" not in stderr
    code, _, stderr = cli(*args, "--init", tmp_path / "max2" / "model.safetensors",
                          "--out", tmp_path / "same")  # no --width: the checkpoint's own
    assert code == 0, stderr


def test_add_a_context_path_to_an_init_checkpoint(world, tmp_path, cli):
    args = ["train", "learned", "--world", world, "--epochs", "1", "--batch", "8",
            "--channels", "8", "--width", "64", "--quiet"]
    code, _, stderr = cli(*args, "--out", tmp_path / "a")
    assert code == 0, stderr
    init = tmp_path / "a" / "model.safetensors"
    code, _, stderr = cli(*args, "--init", init, "--context", "same,relate", "--out", tmp_path / "b")
    assert code == 0, stderr
    config = json.loads((tmp_path / "b" / "config.json").read_text())["config"]
    assert config["context"] == ["relate", "same"]
    code, _, stderr = cli(*args, "--init", init, "--context", "sideways", "--out", tmp_path / "c")
    assert code == 2 and "no module family sideways" in stderr and "Traceback" not in stderr


def test_resume_rule(world, tmp_path, cli, caplog):
    """The same rule as every trainer's (clevrlang/resume.py)."""
    from clevrlang.language.errors import ExitCode

    out = tmp_path / "ck"
    args = ["train", "learned", "--world", world, "--epochs", "1", "--batch", "8",
            "--channels", "8", "--width", "64", "--quiet", "--out", out]
    assert cli(*args)[0] == ExitCode.OK
    code, _, err = cli(*args)
    assert code == ExitCode.USAGE and "--resume" in err and "--force" in err
    code, _, err = cli(*args, "--resume", "--force")
    assert code == ExitCode.USAGE and "give one of them" in err
    caplog.clear()
    assert cli(*args, "--resume")[0] == ExitCode.OK
    assert "holds a finished run (step 4 of 4): nothing to resume" in caplog.text
    history = (out / "history.jsonl").read_text().splitlines()
    assert cli(*args, "--force")[0] == ExitCode.OK
    assert len((out / "history.jsonl").read_text().splitlines()) == len(history)  # replaced
    caplog.clear()
    assert cli(*args[:-1], tmp_path / "new", "--resume")[0] == ExitCode.OK
    assert "holds no run to resume; starting a new one" in caplog.text
