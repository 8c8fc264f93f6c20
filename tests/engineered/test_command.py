"""``clevr train engineered`` (the click command; the trainer itself is stubbed here)."""

from click.testing import CliRunner


def test_command_passes_its_options(tmp_path, monkeypatch):
    from clevrlang.modules.engineered import command, train

    seen = {}

    def fake(world, out, **kw):
        seen.update(world=world, out=out, **kw)
        return {"metrics": {"holdout": {"detection_recall": 1.0}}}

    monkeypatch.setattr(train, "train_engineered", fake)
    (tmp_path / "w").mkdir()
    r = CliRunner().invoke(command.engineered, ["--world", str(tmp_path / "w"), "--epochs", "3",
                                                "--imgsz", "128", "--no-resume", "-q"])
    assert r.exit_code == 0, r.output
    assert seen["epochs"] == 3 and seen["imgsz"] == 128 and seen["resume"] is False
    assert str(seen["out"]).endswith("models/engineered")
    assert "detection_recall 1.0" in r.output
