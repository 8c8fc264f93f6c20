"""Codec look-up by the names the vocabulary spells.

>>> get_codec("jpeg").name
'jpeg'
>>> get_codec("jpg")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
clevrlang.language.errors.UsageError: usage error: unknown codec 'jpg'; did you mean 'jpeg' or 'jpeg2000'?
  hint: codecs: jpeg, webp, jpeg2000, avif, fc_residual_shared, ...
"""

from __future__ import annotations

import difflib
import os
from functools import lru_cache

from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import LEARNED_CODECS, STANDARD_CODECS, TASK_CODECS, TASK_DEFAULT

from .base import Codec

ALL_CODECS = STANDARD_CODECS + LEARNED_CODECS + TASK_CODECS


def get_codec(name: str, weights=None) -> Codec:
    """The codec called ``name``.

    ``weights`` (learned codecs only): None for the installed defaults, a checkpoint path,
    or a :class:`~.networks.ProgressiveNet` already in memory.
    """
    if name in STANDARD_CODECS:
        if weights is not None:
            raise UsageError(f"codec {name!r} is a standard codec and takes no weights")
        from .standard import STANDARD

        return STANDARD[name]
    if name in LEARNED_CODECS:
        return _learned(name, weights)
    if name in TASK_CODECS:
        return _task(TASK_DEFAULT if name == "task" else name, weights)
    close = difflib.get_close_matches(str(name), ALL_CODECS, n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UsageError(f"unknown codec {name!r}{hint}", hint=f"codecs: {', '.join(ALL_CODECS)}")


def _learned(name: str, weights) -> Codec:
    from .checkpoints import default_weights_path, load_net
    from .learned import LearnedCodec
    from .networks import ProgressiveNet

    if weights is None:
        path = default_weights_path(name)
        stamp = path.stat().st_mtime_ns if path.is_file() else None
        return _default(name, stamp)
    if isinstance(weights, ProgressiveNet):
        if weights.config.codec != name:
            raise UsageError(f"network is a {weights.config.codec!r}, not a {name!r}")
        return LearnedCodec(weights)
    if isinstance(weights, (str, os.PathLike)):
        return LearnedCodec(load_net(weights, expect=name), source=str(weights))
    raise UsageError(f"weights must be a checkpoint path or a network, got "
                     f"{type(weights).__name__}")


def _task(name: str, weights) -> Codec:
    from .task import TaskCodec, TaskNet, load_task_net

    if weights is None:
        path = task_weights_path(name)
        return _task_default(name, path.stat().st_mtime_ns if path.is_file() else None)
    if isinstance(weights, TaskNet):
        return TaskCodec(weights)
    if isinstance(weights, (str, os.PathLike)):
        return TaskCodec(load_task_net(weights, expect=name), source=str(weights))
    raise UsageError(f"weights must be a checkpoint path or a network, got "
                     f"{type(weights).__name__}")


def task_weights_path(name: str):
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("clevrlang.compress").joinpath("defaults",
                                                                   f"{name}.safetensors")))


@lru_cache(maxsize=4)
def _task_default(name: str, stamp: int | None) -> Codec:
    from clevrlang.language.errors import CheckpointError

    from .task import TaskCodec, load_task_net

    path = task_weights_path(name)
    if stamp is None:
        raise CheckpointError(f"no default weights for codec {name!r}", where=str(path),
                              hint=f"train them (clevr train codec --codec {name} --task "
                                   f"learned ...) and copy OUT/{name}.safetensors there")
    return TaskCodec(load_task_net(path, expect=name), source=str(path))


@lru_cache(maxsize=16)
def _default(name: str, stamp: int | None) -> Codec:
    from .checkpoints import default_weights_path, load_default
    from .learned import LearnedCodec

    return LearnedCodec(load_default(name), source=str(default_weights_path(name)))
