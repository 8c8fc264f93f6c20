"""Training: resume after a kill is exact; two DDP processes make the same update as one."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clevrlang.language.errors import CheckpointError, UsageError
from clevrlang.modules.learned.checkpoint import load_model
from clevrlang.modules.learned.training.train import TrainConfig, Trainer

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from learned_settings import CONFIG, TRAIN  # noqa: E402


def _weights(path):
    return load_model(path)[0].state_dict()


def _assert_same(a, b, atol=0.0):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=atol and 1e-4, msg=k)


def test_resume_after_kill_is_exact(toy, tmp_path):
    whole = Trainer(toy, toy, tmp_path / "whole", CONFIG, TrainConfig(**TRAIN), progress=False)
    result = whole.run()
    assert result["step"] == 2 * (len(toy) // TRAIN["batch"])
    # Killed after 5 steps: the last save was at step 4, so step 5 is redone on resume.
    Trainer(toy, toy, tmp_path / "cut", CONFIG, TrainConfig(**TRAIN), progress=False).run(stop_after=5)
    resumed = Trainer(toy, toy, tmp_path / "cut", CONFIG, TrainConfig(**TRAIN), resume=True,
                      progress=False)
    assert resumed.step == 4
    resumed.run()
    _assert_same(_weights(tmp_path / "whole" / "last.safetensors"),
                 _weights(tmp_path / "cut" / "last.safetensors"))
    for name in ("model.safetensors", "best.safetensors", "config.json", "history.jsonl"):
        assert (tmp_path / "cut" / name).is_file()


def test_resume_keeps_the_runs_settings(toy, tmp_path):
    Trainer(toy, None, tmp_path, CONFIG, TrainConfig(**TRAIN), progress=False).run(stop_after=4)
    changed = TrainConfig(**{**TRAIN, "batch": 4, "lr": 1.0})
    t = Trainer(toy, None, tmp_path, CONFIG, changed, resume=True, progress=False)
    assert (t.cfg.batch, t.cfg.lr) == (TRAIN["batch"], 5e-4)


def test_resume_from_corrupt_state_is_refused(toy, tmp_path):
    Trainer(toy, None, tmp_path, CONFIG, TrainConfig(**TRAIN), progress=False).run(stop_after=4)
    state = tmp_path / "last.safetensors"
    state.write_bytes(state.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="last.safetensors"):
        Trainer(toy, None, tmp_path, CONFIG, TrainConfig(**TRAIN), resume=True, progress=False)


def test_images_of_another_size_than_the_network_are_refused(toy, tmp_path):
    w, h = CONFIG.image_size
    other = dataclasses.replace(CONFIG, image_size=(w + 16, h))
    with pytest.raises(UsageError, match=f"training images are {w}x{h}"):
        Trainer(toy, None, tmp_path, other, TrainConfig(**TRAIN), progress=False)


def test_init_starts_from_a_checkpoints_weights(toy, tmp_path):
    Trainer(toy, None, tmp_path / "a", CONFIG, TrainConfig(**TRAIN), progress=False).run(stop_after=4)
    trained = tmp_path / "a" / "model.safetensors"
    fresh = Trainer(toy, None, tmp_path / "b", CONFIG, TrainConfig(**TRAIN), init=str(trained),
                    progress=False)
    assert fresh.step == 0  # a new schedule, unlike --resume
    _assert_same(fresh.model.state_dict(), _weights(trained))
    other = dataclasses.replace(CONFIG, channels=CONFIG.channels * 2)
    with pytest.raises(UsageError, match="another config"):
        Trainer(toy, None, tmp_path / "c", other, TrainConfig(**TRAIN), init=str(trained),
                progress=False)


def test_batch_must_split_over_processes(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    with pytest.raises(UsageError, match="does not split"):
        Trainer(toy, None, tmp_path, CONFIG, TrainConfig(**TRAIN), device="cpu", progress=False)


def test_ddp_two_processes_equal_one(toy, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(HERE / "ddp_worker.py"), str(tmp_path / "ddp")]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    single = Trainer(toy, toy, tmp_path / "one", CONFIG, TrainConfig(**TRAIN), device="cpu",
                     progress=False)
    single.run()
    _assert_same(_weights(tmp_path / "ddp" / "last.safetensors"),
                 _weights(tmp_path / "one" / "last.safetensors"), atol=1e-5)


def test_progress_bar_shows_the_validation_accuracy_just_logged(toy, tmp_path, capsys, caplog):
    import logging
    import re

    with caplog.at_level(logging.INFO, logger="clevrlang.modules.learned.training.train"):
        result = Trainer(toy, toy, tmp_path, CONFIG, TrainConfig(**TRAIN), progress=True).run()
    bar = capsys.readouterr().err
    logged = re.findall(r"validation accuracy (\d\.\d+)", caplog.text)
    assert logged and "nan" not in bar  # never a placeholder where no accuracy is known yet
    last = bar.replace("\r", "\n").strip().splitlines()[-1]
    assert f"val={result['validation']['accuracy']:.3f}" in last
