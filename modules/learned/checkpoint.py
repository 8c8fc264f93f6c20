"""Checkpoints: safetensors files with their config as JSON metadata, written atomically.

Nothing here unpickles. A file holds tensors and a string->string metadata header:
``format``, ``config`` (the :class:`~.model.ModelConfig` JSON, which carries the module
tokens and answers it was built for), ``sha256`` of the tensor bytes (safetensors itself
checks only the header) and free-form JSON entries (training progress, optimizer
hyper-parameters, RNG states). Every way a file can be wrong -- missing, truncated, not
safetensors, bytes changed, made for another vocabulary, tensors missing or misshapen --
raises :class:`~clevrlang.language.errors.CheckpointError` naming the file and the problem.

>>> import tempfile, os
>>> from clevrlang.modules.learned.model import NMN, ModelConfig
>>> net = NMN(ModelConfig(channels=8, image_size=(32, 24)))
>>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
>>> save_model(path, net, info={"step": 3})
>>> load_model(path)[0].config.channels
8
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from clevrlang.language.errors import CheckpointError
from clevrlang.modules.learned.model import NMN, ModelConfig

MODEL_FORMAT = "clevrlang-nmn/1"
STATE_FORMAT = "clevrlang-nmn-train/1"


def digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes of ``tensors`` in sorted-name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` durably: temp file beside ``path``, fsync, rename (clevrlang.atomic)."""
    from clevrlang.atomic import write_atomic as _write

    _write(path, data, durable=True)


def save_tensors(path, tensors: dict[str, torch.Tensor], fmt: str, meta: dict[str, str]) -> None:
    """Write a safetensors file atomically with ``format``, ``sha256`` and ``meta``."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    header = {"format": fmt, "sha256": digest(tensors), **meta}
    write_atomic(path, save(tensors, metadata=header))


def read_tensors(path, fmt: str | tuple[str, ...]) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a file written by :func:`save_tensors`, verified."""
    from safetensors import safe_open

    where = os.fspath(path)
    if not os.path.isfile(where):
        raise CheckpointError("no such checkpoint file", where=where,
                              hint="train one with `clevr train learned --world DIR`")
    try:
        with safe_open(where, framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error type for every bad header
        raise CheckpointError(f"not a readable safetensors file (truncated or corrupt?): {e}",
                              where=where) from None
    fmts = (fmt,) if isinstance(fmt, str) else fmt
    if meta.get("format") not in fmts:
        raise CheckpointError(f"format is {meta.get('format')!r}, expected {' or '.join(fmts)}",
                              where=where)
    if meta.get("sha256") != digest(tensors):
        raise CheckpointError("tensor bytes do not match the stored sha256 (corrupt file)",
                              where=where)
    return tensors, meta


STATE_FILE = "last.safetensors"  # a training run's state in its output folder


def training_meta(path) -> dict:
    """The metadata of a :func:`save_training` file (its model config, progress, settings)
    without reading its tensors; a damaged file is reported in full by :func:`read_tensors`."""
    from safetensors import safe_open

    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception:
        read_tensors(path, STATE_FORMAT)
        raise


def config_of(meta: dict, where: str) -> ModelConfig:
    try:
        config = ModelConfig.from_json(meta["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"bad or missing model config: {e}", where=where) from None
    why = config.mismatch()
    if why is not None:
        raise CheckpointError(f"made for another vocabulary: {why}", where=where,
                              hint="retrain with this version of clevrlang")
    return config


def load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str,
               prefix: str = "") -> None:
    """Copy ``tensors`` (names under ``prefix``) into ``model``; every mismatch is an error."""
    own = model.state_dict()
    got = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(own) - set(got))
    extra = sorted(set(got) - set(own))
    shapes = [k for k in own if k in got and tuple(own[k].shape) != tuple(got[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:4]}{'...' if len(missing) > 4 else ''}")
    if extra:
        problems.append(f"unexpected tensors {extra[:4]}{'...' if len(extra) > 4 else ''}")
    if shapes:
        k = shapes[0]
        problems.append(f"{len(shapes)} tensor(s) of another shape, e.g. {k}: "
                        f"{tuple(got[k].shape)} vs {tuple(own[k].shape)}")
    if problems:
        raise CheckpointError("does not match the model: " + "; ".join(problems), where=where)
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in got.items()})


def save_model(path, model: NMN, info: dict | None = None, half: bool = False) -> None:
    """The weights for inference (``half``: stored as float16) and their config."""
    tensors = {k: (v.half() if half and v.is_floating_point() else v)
               for k, v in model.state_dict().items()}
    save_tensors(path, tensors, MODEL_FORMAT,
                 {"config": model.config.to_json(), "info": json.dumps(info or {})})


def load_model(path, device="cpu") -> tuple[NMN, dict]:
    """The network stored at ``path`` (a model or a training-state file) and its info."""
    where = os.fspath(path)
    tensors, meta = read_tensors(where, (MODEL_FORMAT, STATE_FORMAT))
    model = NMN(config_of(meta, where))
    prefix = "model." if meta["format"] == STATE_FORMAT else ""
    load_state(model, tensors, where, prefix)
    try:
        info = json.loads(meta.get("info") or meta.get("progress") or "{}")
    except ValueError:
        info = {}
    return model.to(device).eval(), info


def write_config_json(path, model: NMN, info: dict | None = None) -> None:
    """A readable copy of a checkpoint's config and vocabulary (for people, not loading)."""
    data = {"format": MODEL_FORMAT, "config": json.loads(model.config.to_json()),
            "info": info or {}}
    write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


# -- training state: model + optimizer + RNG + progress, one file so it is replaced at once --

def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, list, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in sd["param_groups"]]
    return tensors, groups, scalars


def rng_states() -> tuple[dict[str, torch.Tensor], dict]:
    """Every random state a training step could touch (torch CPU/CUDA, NumPy, Python)."""
    import random

    import numpy as np

    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    py = random.getstate()
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return tensors, {"numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
                     "python": [py[0], list(py[1]), py[2]]}


def set_rng_states(tensors: dict, meta: dict) -> None:
    import random

    import numpy as np

    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    name, keys, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((name, np.asarray(keys, np.uint32), pos, has_gauss, gauss))
    v, state, gauss = meta["python"]
    random.setstate((v, tuple(state), gauss))


def save_training(path, model: NMN, optimizer, progress: dict, train_config: dict) -> None:
    """Everything ``--resume`` needs, in one atomically replaced safetensors file."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_tensors, groups, scalars = _optimizer_tensors(optimizer)
    rng_t, rng_meta = rng_states()
    tensors.update(opt_tensors)
    tensors.update(rng_t)
    meta = {"config": model.config.to_json(), "progress": json.dumps(progress),
            "train": json.dumps(train_config, sort_keys=True),
            "optim": json.dumps({"param_groups": groups, "scalars": scalars}),
            "rng": json.dumps(rng_meta)}
    save_tensors(path, tensors, STATE_FORMAT, meta)


def load_training(path, model: NMN, optimizer) -> tuple[dict, dict]:
    """Restore model, optimizer and RNG from :func:`save_training`; returns (progress, train
    config). The model must have been built with the stored config."""
    where = os.fspath(path)
    tensors, meta = read_tensors(where, STATE_FORMAT)
    config = config_of(meta, where)
    if config != model.config:
        raise CheckpointError("was written for another model configuration", where=where,
                              hint="resume with the same options, or start a new --out folder")
    load_state(model, tensors, where, "model.")
    try:
        optim = json.loads(meta["optim"])
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v
        for k, v in optim["scalars"].items():
            idx, name = k.split(".", 1)
            state.setdefault(int(idx), {})[name] = v
        optimizer.load_state_dict({"state": state, "param_groups": optim["param_groups"]})
        set_rng_states(tensors, json.loads(meta["rng"]))
        return json.loads(meta["progress"]), json.loads(meta["train"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"incomplete training state: {e}", where=where) from None


def export(src, dst_dir, half: bool = True, info: dict | None = None) -> Path:
    """Copy the weights of checkpoint ``src`` to ``dst_dir/model.safetensors`` (float16 by
    default) with a readable ``config.json``: how the default checkpoint is made."""
    model, stored = load_model(src)
    info = {**stored, **(info or {})}
    dst = Path(dst_dir)
    save_model(dst / "model.safetensors", model, info, half=half)
    write_config_json(dst / "config.json", model, info)
    return dst / "model.safetensors"
