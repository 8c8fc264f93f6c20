"""``--device``: the one rule every trainer and back end uses to pick where torch runs.

``auto`` is the GPU when there is one, else the CPU; ``cuda`` means this process's GPU (its
``LOCAL_RANK`` under torchrun); any other torch device name passes through. Torch is imported
here only when a device is picked, so the command line stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clevrlang.language.errors import UsageError, shown

if TYPE_CHECKING:
    import torch


def pick_device(device: str | None = "auto", local_rank: int = 0) -> "torch.device":
    """The torch device ``device`` names; a UsageError for a name torch does not know, or
    for a GPU this machine lacks.

    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device("gpu")
    Traceback (most recent call last):
    clevrlang.language.errors.UsageError: usage error: unknown device 'gpu'
      hint: use auto, cpu or cuda
    """
    import torch

    if device in (None, "", "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UsageError(f"unknown device {shown(device)}", hint="use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device} asked for, but no CUDA device is available")
    return dev
