"""``clevr train engineered`` (the click command; the trainer itself is stubbed here)."""

from click.testing import CliRunner


def test_command_passes_its_options(tmp_path, monkeypatch):
    from clevrlang.modules.engineered.training import command, train

    seen = {}

    def fake(world, out, **kw):
        seen.update(world=world, out=out, **kw)
        return {"metrics": {"holdout": {"detection_recall": 1.0}}}

    monkeypatch.setattr(train, "train_engineered", fake)
    (tmp_path / "w").mkdir()
    r = CliRunner().invoke(command.engineered, ["--world", str(tmp_path / "w"), "--epochs", "3",
                                                "--imgsz", "128", "-q"])
    assert r.exit_code == 0, r.output
    assert seen["epochs"] == 3 and seen["imgsz"] == 128 and seen["resume"] is False
    assert str(seen["out"]).endswith("models/engineered")
    assert "detection_recall 1.0" in r.output


def test_resume_rule(tiny_model, samples, tmp_path, capsys, caplog):
    """The same rule as every trainer's (clevrlang/resume.py), on a finished tiny run."""
    import shutil

    from clevrlang.cli import main
    from clevrlang.language.errors import ExitCode
    from clevrlang.modules.engineered.training.train import train_engineered

    out = tmp_path / "model"
    shutil.copytree(tiny_model[0], out)
    (tmp_path / "w").mkdir()
    args = ["train", "engineered", "--world", str(tmp_path / "w"), "--out", str(out), "-q"]
    assert main(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "already holds a training run" in err and "--resume" in err and "--force" in err
    assert main(args + ["--resume", "--force"]) == ExitCode.USAGE
    caplog.clear()
    train_engineered(samples, out, epochs=1, imgsz=64, threads=1, progress=False, device="cpu",
                     resume=True)
    assert "holds a finished run (all stages done): nothing to resume" in caplog.text
