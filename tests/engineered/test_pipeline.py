"""The engineered back end end to end on a tiny model (trained once per session)."""

import json
import pickle

import numpy as np
import pytest

from clevrlang import parse
from clevrlang.language.errors import CheckpointError
from clevrlang.scene import Scene


@pytest.fixture(scope="module")
def backend(tiny_model):
    from clevrlang.backends import get_backend

    return get_backend("engineered", model=tiny_model[0], device="cpu")


def test_training_stays_in_its_folders(tiny_model, _isolated_cache):
    import os
    from pathlib import Path

    assert os.environ["YOLO_CONFIG_DIR"].startswith(str(_isolated_cache))
    assert (Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf").is_file()
    assert not Path("runs").exists() and not Path("datasets").exists()
    assert {p.name for p in tiny_model[0].iterdir()} >= {"manifest.json", "work"}


def test_manifest_records_training(tiny_model):
    out, manifest = tiny_model
    assert manifest["config"]["names"] == ["cube", "sphere", "cylinder"]
    assert set(manifest["files"]) >= {"detector.safetensors", "color.skops", "position.skops"}
    assert 0.1 <= manifest["config"]["conf"] <= 0.7
    # the SVMs see true boxes in training, so they beat chance even with a weak detector
    assert manifest["metrics"]["cv"]["color"] > 0.5
    assert manifest["metrics"]["cv"]["material"] > 0.6


def test_answers_a_batch(backend, samples):
    images = [s.image() for s in samples[-3:]]
    programs = [parse("count(scene())"), parse("exist(filter_color[red](scene()))"),
                parse("count(scene())")]
    answers = backend.answer(programs, images, errors="return")
    assert answers[0] in [str(i) for i in range(11)]
    assert answers[1] in ("yes", "no")
    assert backend.needs == "images"


def test_perceive_gives_valid_scenes(backend, samples):
    scenes = backend.perceive([s.image() for s in samples[-2:]])
    for i, s in enumerate(scenes):
        Scene(s, i)  # validated: attributes known, relationships well formed
        json.dumps(s)


def test_interpreter_and_draw(backend, samples, tmp_path):
    image = samples[-1].image()
    interp = backend.interpreter(image)
    assert isinstance(interp.value(parse("count(scene())").node), int)
    out = backend.draw(image, interp.predicted, tmp_path / "d.png")
    from PIL import Image

    assert Image.open(out).size == (image.shape[1] * 2, image.shape[0] * 2)


def test_ablation_with_true_boxes_beats_chance(backend, samples, tmp_path):
    from clevrlang.modules.engineered.training.ablation import ablate, format_table

    result = ablate(backend, samples=samples[-6:], png=tmp_path / "ablation.png",
                    progress=False)
    rows = {r["replaced"]: r for r in result["rows"]}
    assert rows["all"]["scene_exact"] == 1.0  # the truth in every slot is the true scene
    assert (tmp_path / "ablation.png").stat().st_size > 1000
    assert "detection" in format_table(result)
    from clevrlang.modules.engineered.training.evaluate import component_metrics

    with_boxes = backend.perception.perceive([s.image() for s in samples[-6:]],
                                             truth=[s.scene for s in samples[-6:]],
                                             replace=("detection",))
    m = component_metrics(with_boxes, [s.scene for s in samples[-6:]],
                          [s.size() for s in samples[-6:]])
    assert m["detection_recall"] == 1.0
    assert m["color_accuracy"] > 1 / 8 + 0.2 and m["size_accuracy"] > 0.6


def test_rerun_resumes_without_work(tiny_model, samples, monkeypatch):
    from clevrlang.modules.engineered.training import detector_train
    from clevrlang.modules.engineered.training.train import train_engineered

    monkeypatch.setattr(detector_train, "train_detector",
                        lambda *a, **k: pytest.fail("a finished run must not retrain"))
    again = train_engineered(samples, tiny_model[0], epochs=1, imgsz=64, progress=False)
    assert again["files"] == tiny_model[1]["files"]


def test_loading_unpickles_nothing(tiny_model, monkeypatch, samples):
    from clevrlang.modules.engineered.backend import EngineeredBackend

    def refuse(*a, **k):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    import torch

    monkeypatch.setattr(torch, "load", refuse)
    b = EngineeredBackend(tiny_model[0], device="cpu")
    b.perceive([samples[0].image()])


def test_settings_change_is_refused(tiny_model, samples):
    from clevrlang.language.errors import UsageError
    from clevrlang.modules.engineered.training.train import train_engineered

    with pytest.raises(UsageError, match="other settings"):
        train_engineered(samples, tiny_model[0], epochs=2, imgsz=64, progress=False)


def test_missing_model_is_a_checkpoint_error(tmp_path):
    from clevrlang.modules.engineered.backend import EngineeredBackend

    with pytest.raises(CheckpointError, match="no such artefact folder"):
        EngineeredBackend(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="manifest"):
        EngineeredBackend(tmp_path / "empty")


def test_bad_image_is_a_data_error(backend):
    from clevrlang.language.errors import DataError

    with pytest.raises(DataError):
        backend.perceive([np.zeros((4, 4), np.float32)])


def test_warm_start_keeps_every_tensor_that_fits(tiny_model):
    from types import SimpleNamespace

    from clevrlang.modules.engineered.detector import build_model
    from clevrlang.modules.engineered.training.detector_train import _warm_start

    model, ema = build_model("yolo11n.yaml", 1), build_model("yolo11n.yaml", 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = SimpleNamespace(model=model, ema=SimpleNamespace(ema=ema))
    _warm_start(trainer, tiny_model[0] / "detector.safetensors")  # a 3-class detector
    changed = [k for k, v in model.state_dict().items()
               if v.is_floating_point() and not (v == before[k]).all()]
    assert len(changed) > len(before) // 2
    assert all((model.state_dict()[k] == ema.state_dict()[k]).all() for k in changed)
