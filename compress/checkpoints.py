"""Codec checkpoints: safetensors weights whose metadata records the network's config.

A trained codec is ``<name>.safetensors`` (tensors + ``{"clevrlang_codec": <config JSON>}``
metadata) with a readable ``<name>.json`` beside it; training adds ``<name>.train.safetensors``
(optimiser state and RNG states) for exact resumption. The defaults installed with clevrlang
live in ``compress/defaults/<name>.safetensors``. Loading never executes code.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import torch

from clevrlang.atomic import write_atomic
from clevrlang.language.errors import CheckpointError, UsageError
from clevrlang.language.vocabulary import LEARNED_CODECS

from .networks import NetConfig, ProgressiveNet, build_net

META_KEY = "clevrlang_codec"


def save_net(path: str | os.PathLike, net: torch.nn.Module, extra: dict | None = None,
             dtype: torch.dtype | None = None, meta_key: str = META_KEY) -> Path:
    """Write weights (+ config in the metadata) atomically, and a JSON config beside them.

    ``dtype=torch.float16`` halves the file (for committed defaults); loading casts back to
    float32, so codes stay bit-exact between processes that load the same file. ``net`` is
    any codec network with a ``config.to_json()``; ``meta_key`` names the kind of codec.
    """
    from safetensors.torch import save

    path = Path(path)
    config = {**net.config.to_json(), **(extra or {})}
    tensors = {k: v.detach().to("cpu", dtype or v.dtype).contiguous()
               for k, v in net.state_dict().items()}
    write_atomic(path, save(tensors, metadata={meta_key: json.dumps(config)}), durable=True)
    write_atomic(path.with_suffix(".json"),
                 (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(), durable=True)
    return path


def write_training_state(path: Path, key: str, net, opt, gen, rng, meta: dict) -> None:
    """A trainer's whole state in one safetensors file, atomically: weights, optimizer
    moments, both random generators, and ``meta`` (JSON) under ``key``."""
    from safetensors.torch import save

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt_state = opt.state_dict()
    for idx, st in opt_state["state"].items():
        for k, v in st.items():
            tensors[f"optim.{idx}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
    tensors["rng.torch"] = gen.get_state().cpu()
    meta = {**meta, "numpy_rng": rng.bit_generator.state,
            "param_groups": opt_state["param_groups"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, save(tensors, metadata={key: json.dumps(meta)}), durable=True)


def read_training_state(path: Path, key: str) -> tuple[dict, dict]:
    """``(meta, tensors)`` of a state written by :func:`write_training_state`; never unpickles."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = json.loads((f.metadata() or {})[key])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise CheckpointError(f"cannot resume from this training state ({e})",
                              where=str(path)) from None
    return meta, tensors


def restore_training_state(path: Path, meta: dict, tensors: dict, net, opt, gen, rng) -> int:
    """Put a read state back into the trainer's objects; returns the step it stopped at."""
    load_state(net, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, str(path))
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    gen.set_state(tensors["rng.torch"])
    rng.bit_generator.state = meta["numpy_rng"]
    return int(meta["step"])


def read_config(path: Path) -> dict:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise CheckpointError("checkpoint file not found", where=str(path)) from None
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"not a readable safetensors file ({e})", where=str(path)) from None
    if META_KEY not in meta:
        raise CheckpointError(f"safetensors file has no {META_KEY!r} metadata: not a "
                              "clevrlang codec checkpoint", where=str(path))
    try:
        config = json.loads(meta[META_KEY])
        NetConfig.from_json(config)
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"bad codec config in metadata ({e})", where=str(path)) from None
    return config


def load_net(path: str | os.PathLike, expect: str | None = None) -> ProgressiveNet:
    """Rebuild a network from a checkpoint; refuse a different codec or mismatched tensors."""
    from safetensors.torch import load_file

    path = Path(path)
    config = read_config(path)
    cfg = NetConfig.from_json(config)
    if expect is not None and cfg.codec != expect:
        raise CheckpointError(f"checkpoint holds codec {cfg.codec!r}, not {expect!r}",
                              where=str(path))
    if cfg.codec not in LEARNED_CODECS:
        raise CheckpointError(f"unknown codec {cfg.codec!r} in checkpoint", where=str(path))
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as e:
        raise CheckpointError(f"corrupt safetensors file ({e})", where=str(path)) from None
    net = build_net(cfg)
    load_state(net, tensors, str(path))
    return net


def load_state(net: torch.nn.Module, tensors: dict, where: str) -> None:
    """``load_state_dict`` with a message that names what does not match."""
    own = net.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or extra or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}")
        raise CheckpointError("checkpoint does not match the network its config describes ("
                              + "; ".join(parts) + ")", where=where)
    net.load_state_dict(tensors)


def default_weights_path(name: str) -> Path:
    """Where the installed default weights of a learned codec live."""
    if name not in LEARNED_CODECS:
        raise UsageError(f"{name!r} is not a learned codec (learned: {', '.join(LEARNED_CODECS)})")
    return Path(str(resources.files("clevrlang.compress").joinpath("defaults",
                                                                   f"{name}.safetensors")))


def load_default(name: str) -> ProgressiveNet:
    """The installed default network of a learned codec, or a CheckpointError saying how to
    make one."""
    path = default_weights_path(name)
    if not path.is_file():
        raise CheckpointError(
            f"no default weights for codec {name!r}", where=str(path),
            hint=f"train them (clevrlang.compress.train_codec(images, {name!r}, ...)) and copy "
                 f"<out_dir>/{name}.safetensors there, or pass weights=PATH")
    return load_net(path, expect=name)
