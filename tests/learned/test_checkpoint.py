"""Checkpoints load without unpickling; every bad file is refused with its name and why."""

import json

import pytest
import torch

from clevrlang.language.errors import CheckpointError
from clevrlang.modules.learned import checkpoint as ck
from clevrlang.modules.learned.model import NMN, ModelConfig


@pytest.fixture
def saved(tmp_path, tiny_model):
    path = tmp_path / "model.safetensors"
    ck.save_model(path, tiny_model, info={"step": 7})
    return path


def test_round_trip(saved, tiny_model):
    model, info = ck.load_model(saved)
    assert info == {"step": 7}
    for (k, a), b in zip(tiny_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k


def test_half_precision_loads_as_float(tmp_path, tiny_model):
    path = tmp_path / "half.safetensors"
    ck.save_model(path, tiny_model, half=True)
    model, _ = ck.load_model(path)
    a, b = next(iter(tiny_model.parameters())), next(iter(model.parameters()))
    assert b.dtype == torch.float32
    torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint") as e:
        ck.load_model(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(e.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_files_are_refused(saved, damage):
    data = bytearray(saved.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"\x80\x04this is a pickle, not safetensors" * 10)
    else:  # one byte of tensor data: the header still parses, the digest does not match
        data[-100] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as e:
        ck.load_model(saved)
    assert str(saved) in e.value.render()
    assert ("sha256" in e.value.message) == (damage == "flip")


def _rewrite(path, edit_meta=None, edit_tensors=None):
    tensors, meta = ck.read_tensors(path, ck.MODEL_FORMAT)
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    extra = {k: v for k, v in meta.items() if k not in ("format", "sha256")}
    ck.save_tensors(path, tensors, meta["format"], extra)


def test_other_vocabulary_is_refused(saved):
    def edit(meta):
        config = json.loads(meta["config"])
        config["tokens"] = config["tokens"][:-1] + ["filter_color[octarine]"]
        meta["config"] = json.dumps(config)

    _rewrite(saved, edit)
    with pytest.raises(CheckpointError, match="another vocabulary.*octarine"):
        ck.load_model(saved)


def test_missing_and_misshapen_tensors(saved):
    _rewrite(saved, edit_tensors=lambda t: t.pop("classifier.proj.bias"))
    with pytest.raises(CheckpointError, match="missing tensors.*classifier.proj.bias"):
        ck.load_model(saved)


def test_other_format_is_refused(saved, tmp_path):
    other = tmp_path / "stem.safetensors"
    ck.save_tensors(other, {"stem.x": torch.zeros(2)}, "clevrlang-stem/1", {})
    with pytest.raises(CheckpointError, match="format is 'clevrlang-stem/1'"):
        ck.load_model(other)


def test_writes_are_atomic(tmp_path, tiny_model, monkeypatch):
    path = tmp_path / "m.safetensors"
    ck.save_model(path, tiny_model)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        ck.save_model(path, NMN(ModelConfig(channels=8, image_size=(64, 48), stem_widths=(8, 8),
                                            classifier_proj=4, classifier_hidden=16)))
    assert path.read_bytes() == before
