"""Artefact folders: corrupted, foreign or incomplete files are refused, naming the file."""

import json
import shutil

import pytest

from clevrlang.language.errors import CheckpointError


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(tiny_model[0], dst, ignore=shutil.ignore_patterns("work"))
    return dst


def _load(folder):
    from clevrlang.modules.engineered.perception import Perception

    return Perception.load(folder, device="cpu")


def test_copy_loads(model_copy):
    assert _load(model_copy).detector.names == ("cube", "sphere", "cylinder")


@pytest.mark.parametrize("name", ["detector.safetensors", "color.skops", "position.skops"])
def test_corrupted_file_is_refused(model_copy, name):
    path = model_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt") as e:
        _load(model_copy)
    assert name in e.value.render()


def _rehash(folder, name):
    from clevrlang.modules.engineered.artefacts import sha256

    m = json.loads((folder / "manifest.json").read_text())
    m["files"][name] = sha256(folder / name)
    (folder / "manifest.json").write_text(json.dumps(m))


def test_truncated_detector_with_matching_checksum_is_refused(model_copy):
    path = model_copy / "detector.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    _rehash(model_copy, "detector.safetensors")
    with pytest.raises(CheckpointError, match="detector.safetensors"):
        _load(model_copy)


def test_foreign_safetensors_is_refused(model_copy):
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(model_copy / "detector.safetensors"),
              metadata={"format": "something-else"})
    _rehash(model_copy, "detector.safetensors")
    with pytest.raises(CheckpointError, match="not a clevrlang-yolo"):
        _load(model_copy)


def test_foreign_sklearn_model_is_refused(model_copy):
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.random.rand(10, 3), [0, 1] * 5)
    sio.dump(model, model_copy / "color.skops")
    _rehash(model_copy, "color.skops")
    with pytest.raises(CheckpointError, match="color.skops"):
        _load(model_copy)


def test_not_a_zip_is_refused(model_copy):
    (model_copy / "size.skops").write_bytes(b"\x80\x04K\x01.")  # a pickle, of all things
    _rehash(model_copy, "size.skops")
    with pytest.raises(CheckpointError, match="size.skops"):
        _load(model_copy)


def test_foreign_manifest_is_refused(model_copy):
    (model_copy / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError, match="manifest"):
        _load(model_copy)
    (model_copy / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable manifest"):
        _load(model_copy)


def test_missing_file_is_refused(model_copy):
    (model_copy / "material.skops").unlink()
    with pytest.raises(CheckpointError, match="material.skops"):
        _load(model_copy)
