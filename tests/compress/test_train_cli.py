"""`clevr train codec --world DIR`: thumbnails, full-size crops, per-iteration weights."""

import json

import pytest

from clevrlang.world.make import WorldSpec, make_world

pytest.importorskip("clevrlang.world.questions")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    make_world(out, WorldSpec(images=4, split="train", questions_per_image=0, width=96,
                              height=64, seed=3, block_size=4), progress=False)
    return out


def test_train_codec_on_thumbnails_and_full_images(world, tmp_path, cli):
    out = tmp_path / "c"
    args = ["train", "codec", "--world", world, "--codec", "conv_lstm", "--iterations", "2",
            "--width", "16", "--batch", "4", "--out", out]
    code, _, stderr = cli(*args, "--steps", "2", "--full-images", "2",
                          "--iteration-weights", "1,3")
    assert code == 0, stderr
    meta = json.loads((out / "conv_lstm.json").read_text())
    assert meta["pools"] == 2 and meta["iteration_weights"] == [1.0, 3.0]
    assert meta["step"] == 2
    # Resuming with another objective is refused with the reason, not a traceback.
    code, _, stderr = cli(*args, "--steps", "3", "--iteration-weights", "1,3", "--resume")
    assert code != 0 and "on 2 image pools" in stderr and "Traceback" not in stderr


def test_bad_iteration_weights_are_a_usage_error(world, tmp_path, cli):
    code, _, stderr = cli("train", "codec", "--world", world, "--codec", "conv_lstm",
                          "--iterations", "2", "--iteration-weights", "1,x", "--out", tmp_path)
    assert code != 0 and "'1,x' is not a comma-separated list of numbers" in stderr


def test_resume_rule(world, tmp_path, cli, caplog):
    """The rule every trainer follows (clevrlang/resume.py): --resume continues, --force
    starts over, neither refuses to replace a run."""
    from clevrlang.language.errors import ExitCode

    args = ["train", "codec", "--world", world, "--codec", "conv_lstm", "--iterations", "1",
            "--width", "16", "--batch", "2", "--steps", "2", "--quiet", "--out", tmp_path / "c"]
    assert cli(*args)[0] == ExitCode.OK
    code, _, err = cli(*args)
    assert code == ExitCode.USAGE and "--resume" in err and "--force" in err
    code, _, err = cli(*args, "--resume", "--force")
    assert code == ExitCode.USAGE and "give one of them" in err
    caplog.clear()
    assert cli(*args, "--resume")[0] == ExitCode.OK
    assert "holds a finished run (conv_lstm: step 2 of 2): nothing to resume" in caplog.text
    assert cli(*args, "--force")[0] == ExitCode.OK
    caplog.clear()
    assert cli(*args[:-1], tmp_path / "new", "--resume")[0] == ExitCode.OK
    assert "holds no run to resume; starting a new one" in caplog.text
