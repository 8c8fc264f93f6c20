"""The neural modules of the learned back end, one per function token, read from the vocabulary.

A *token* is a function with its value inputs filled in: ``filter_color[red]``,
``relate[left]``, ``count``. Johnson et al. (2017) give every token its own module; the
tokens are enumerated here from :data:`~clevrlang.language.vocabulary.FUNCTIONS` (the CLEVR
functions) and :data:`~clevrlang.language.vocabulary.ENUMS` (their value types) -- never from
function names -- and a module's arity is its function's number of data inputs.

* ``scene`` has no module: it is the stem's feature map of the image;
* a unary module is a residual block of two 3x3 convolutions;
* a binary module concatenates its two inputs (2C channels), projects them back to C with a
  1x1 convolution and applies a residual block;
* the modules of the families named in ``context`` (e.g. ``same``, ``relate``) also read a
  summary of their whole input map (:class:`ResidualBlock`), because what they compute at a
  cell depends on an object anywhere in the image, far beyond two 3x3 convolutions.

>>> "filter_color[red]" in module_tokens() and "relate[left]" in module_tokens()
True
>>> from clevrlang.language.ir import Node
>>> token_of(Node.make("filter_shape", ("cube",), (Node.make("scene"),)))
'filter_shape[cube]'
"""

from __future__ import annotations

import itertools
from functools import cache

import torch
from torch import nn
from torch.nn import functional as F

from clevrlang.language.vocabulary import BOOL_ANSWERS, COUNT_ANSWERS, ENUMS, FUNCTIONS, Type

SCENE = "scene"  # the one CLEVR function that has no module: it is the stem's output

#: The answers a program of each result type can have (the classifier masks the others).
ANSWER_SETS: dict[Type, tuple[str, ...]] = {
    Type.BOOL: BOOL_ANSWERS,
    Type.INT: COUNT_ANSWERS,
    **{t: ENUMS[t] for t in (Type.SIZE, Type.COLOR, Type.MATERIAL, Type.SHAPE)},
}
ANSWER_TYPES: tuple[Type, ...] = tuple(ANSWER_SETS)



@cache
def module_tokens() -> tuple[str, ...]:
    """Every module token, in vocabulary order (functions) x (enumeration order of values)."""
    tokens = []
    for name, f in FUNCTIONS.items():
        if not f.clevr or name == SCENE:
            continue
        choices = [ENUMS[p.type] for p in f.params]
        for values in itertools.product(*choices):
            tokens.append(spell(name, values))
    return tuple(tokens)


@cache
def module_arity() -> dict[str, int]:
    """token -> number of data inputs (1 or 2), from the function's signature."""
    out = {}
    for token in module_tokens():
        out[token] = FUNCTIONS[token.partition("[")[0]].arity
    return out


def spell(name: str, values: tuple = ()) -> str:
    """The token of ``name`` with ``values``: ``spell("relate", ("left",)) == "relate[left]"``."""
    return f"{name}[{','.join(map(str, values))}]" if values else name


def token_of(node) -> str:
    """The module token of an IR node (``scene`` for the stem)."""
    return spell(node.op, node.values)


def family_of(token: str) -> str:
    """The vocabulary family of a token's function (``relate[left]`` -> ``relate``)."""
    return FUNCTIONS[token.partition("[")[0]].family


_COORDS: dict[tuple, torch.Tensor] = {}


def coord_maps(height: int, width: int, device=None, dtype=None) -> torch.Tensor:
    """Two channels holding x and y in [-1, 1] (FiLM's coordinate maps), shape (2, H, W)."""
    key = (height, width, str(device), dtype)
    grid = _COORDS.get(key)
    if grid is None:
        grid = _COORDS[key] = _coords(height, width, device, dtype)
    return grid


def _coords(height: int, width: int, device, dtype) -> torch.Tensor:
    ys = torch.linspace(-1, 1, height, device=device, dtype=dtype)
    xs = torch.linspace(-1, 1, width, device=device, dtype=dtype)
    return torch.stack([xs.expand(height, width), ys[:, None].expand(height, width)])


class ResidualBlock(nn.Module):
    """relu(x + conv(relu(conv(x)))), both 3x3 (IEP's block, no batch norm).

    The first convolution may also see the two coordinate channels (``coords``: tells left
    from right without a large receptive field) and the stem's features of the image
    (``image``: TbD/FiLM-style, so a module need not carry the picture down the chain).

    With ``context``, its output also gets, at every cell, a linear map of one C-vector
    summarising the whole input: an attention-weighted mean of ``x`` (the weights a softmax
    over cells of a 1x1 conv, as in GCNet's context block), so ``same_color`` can compare
    each cell with the one object its input marks, wherever that object is. The context layer
    starts at zero, so a trained network given a context path computes what it did before
    (``--init CK --context``; there the attention starts as the trained set head, marking
    the input's objects, where from zero it would be a plain mean over the scene).
    """

    def __init__(self, channels: int, coords: bool = False, dilation: int = 1,
                 image: int = 0, context: bool = False):
        super().__init__()
        extra = (2 if coords else 0) + image
        self.coords = coords
        self.conv1 = nn.Conv2d(channels + extra, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.has_context = context  # a plain flag: hasattr on a Module raises inside, per call
        if context:
            self.attend = nn.Conv2d(channels, 1, 1)
            self.context = nn.Linear(channels, channels)
            for layer in (self.attend, self.context):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def summary(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C): the attention-weighted mean of ``x`` over its cells."""
        weights = torch.softmax(self.attend(x).flatten(2), -1)  # (N, 1, H*W)
        return (x.flatten(2) * weights).sum(-1)

    def forward(self, x: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        parts = [x] if image is None else [x, image]
        if self.coords:
            n, _, height, width = x.shape
            parts.append(coord_maps(height, width, x.device, x.dtype).expand(n, 2, height, width))
        h = self.conv1(parts[0] if len(parts) == 1 else torch.cat(parts, 1))
        if self.has_context:
            h = h + self.context(self.summary(x))[:, :, None, None]
        return F.relu(x + self.conv2(F.relu(h)))


class UnaryModule(nn.Module):
    def __init__(self, channels: int, coords: bool = False, dilation: int = 1, image: int = 0,
                 context: bool = False):
        super().__init__()
        self.block = ResidualBlock(channels, coords, dilation, image, context)

    def forward(self, x: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        return self.block(x, image)


class BinaryModule(nn.Module):
    """cat(a, b) -> 1x1 conv (2C -> C) -> relu -> residual block."""

    def __init__(self, channels: int, coords: bool = False, dilation: int = 1, image: int = 0,
                 context: bool = False):
        super().__init__()
        self.project = nn.Conv2d(2 * channels, channels, 1)
        self.block = ResidualBlock(channels, coords, dilation, image, context)

    def forward(self, a: torch.Tensor, b: torch.Tensor,
                image: torch.Tensor | None = None) -> torch.Tensor:
        return self.block(F.relu(self.project(torch.cat([a, b], 1))), image)


class Classifier(nn.Module):
    """1x1 conv -> relu -> pooling -> MLP over every answer.

    ``pool="max2"`` is IEP's head (2x2 max pool, flatten: position-specific weights);
    ``pool="global"`` pools the whole map, by mean and by max, so the MLP reads the same
    features wherever the object is (the mean can count, the max can read one object).
    """

    def __init__(self, channels: int, height: int, width: int, n_answers: int,
                 proj: int = 64, hidden: int = 256, pool: str = "max2"):
        super().__init__()
        if pool not in ("max2", "global"):
            raise ValueError(f"unknown classifier pooling {pool!r}")
        self.pool = pool
        self.proj = nn.Conv2d(channels, proj, 1)
        flat = proj * (height // 2) * (width // 2) if pool == "max2" else 2 * proj
        self.mlp = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, n_answers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.proj(x))
        if self.pool == "max2":
            h = F.max_pool2d(h, 2).flatten(1)
        else:
            h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        return self.mlp(h)


def build_modules(channels: int, coords: bool, relate_dilation: int,
                  image_skip: bool = False, context: tuple[str, ...] = ()) -> nn.ModuleDict:
    """One module per token: unary or binary by the function's arity; the families in
    ``context`` get the whole-input summary."""
    out = nn.ModuleDict()
    for token, arity in module_arity().items():
        family = family_of(token)
        dilation = relate_dilation if family == "relate" else 1
        cls = BinaryModule if arity == 2 else UnaryModule
        out[token] = cls(channels, coords, dilation, channels if image_skip else 0,
                         family in context)
    return out


def module_families() -> tuple[str, ...]:
    """The families of the module tokens (what ``context`` may name), in vocabulary order."""
    return tuple(dict.fromkeys(family_of(t) for t in module_tokens()))
