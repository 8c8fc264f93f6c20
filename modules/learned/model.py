"""The execution engine of Johnson et al. (2017): stem + one module per token + classifier.

The network is built from a :class:`ModelConfig` alone (a checkpoint stores it as JSON), and
runs a compiled :class:`~.compiler.Plan` -- a whole batch of programs of different shapes in
one pass -- or one program at a time (:func:`~.compiler.run_loop`, the reference).

>>> import torch
>>> from clevrlang import parse
>>> from clevrlang.modules.learned.compiler import compile_batch
>>> torch.manual_seed(0) and None
>>> net = NMN(ModelConfig(channels=16, image_size=(64, 48))).eval()
>>> plan = compile_batch([parse("count(filter[red](scene()))").node], [0])
>>> tuple(net(torch.zeros(1, 3, 48, 64), plan).shape) == (1, len(ANSWERS))
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from clevrlang.language.vocabulary import ANSWERS, FUNCTIONS, Type
from clevrlang.modules.learned.modules import (ANSWER_SETS, ANSWER_TYPES, Classifier,
                                               build_modules, module_families, module_tokens)
from clevrlang.modules.learned.stem import STRIDE, Stem

FORMAT = "clevrlang-nmn/1"


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    channels: int = 64
    image_size: tuple[int, int] = (128, 96)  # (width, height) the stem sees
    stem_widths: tuple[int, int] = (32, 64)
    coords: bool = True  # coordinate channels into every module's first conv (FiLM)
    relate_dilation: int = 2  # relate modules use dilated 3x3 convs (wider view)
    classifier_proj: int = 64
    classifier_hidden: int = 256
    classifier_pool: str = "max2"  # IEP's 2x2 max pool + flatten, or "global" (mean, max)
    set_head: bool = False  # a 1x1 conv marking each set module's objects (see .auxiliary)
    count_head: bool = False  # a 1x1 conv mapping where each set's objects are centred (.auxiliary)
    image_skip: bool = False  # every module also sees the stem's features (TbD/FiLM-style)
    context: tuple[str, ...] = ()  # families whose modules read a summary of the whole map
    tokens: tuple[str, ...] = field(default_factory=module_tokens)
    answers: tuple[str, ...] = ANSWERS

    @property
    def feature_size(self) -> tuple[int, int]:
        """(height, width) of the stem's feature map."""
        w, h = self.image_size
        return h // STRIDE, w // STRIDE

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        """Parse a stored config; raises ValueError saying what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
            raise ValueError(f"not a {FORMAT} model config")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}")
        for key in ("image_size", "stem_widths", "tokens", "answers", "context"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def mismatch(self) -> str | None:
        """Why this config cannot run with the current vocabulary, or None."""
        tokens = module_tokens()
        if self.tokens != tokens:
            missing = sorted(set(tokens) - set(self.tokens))
            extra = sorted(set(self.tokens) - set(tokens))
            return (f"module tokens differ from the vocabulary (missing {missing[:5]}, "
                    f"unknown {extra[:5]})" if missing or extra else "module token order differs")
        if self.answers != ANSWERS:
            return "answer list differs from the vocabulary's ANSWERS"
        unknown = sorted(set(self.context) - set(module_families()))
        if unknown:
            return f"context names unknown module families {unknown}"
        return None


def answer_masks() -> torch.Tensor:
    """(len(ANSWER_TYPES), len(ANSWERS)) bool: which answers each result type allows."""
    mask = torch.zeros(len(ANSWER_TYPES), len(ANSWERS), dtype=torch.bool)
    for i, t in enumerate(ANSWER_TYPES):
        for a in ANSWER_SETS[t]:
            mask[i, ANSWERS.index(a)] = True
    return mask


class NMN(nn.Module):
    """Stem, the module registry (an ``nn.ModuleDict`` keyed by token) and the classifier."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config.channels
        h, w = config.feature_size
        self.stem = Stem(c, config.stem_widths)
        self.mods = build_modules(c, config.coords, config.relate_dilation, config.image_skip,
                                  config.context)
        self.classifier = Classifier(c, h, w, len(config.answers), config.classifier_proj,
                                     config.classifier_hidden, config.classifier_pool)
        if config.set_head:
            self.sets = nn.Conv2d(c, 1, 1)
        if config.count_head:
            # Zero: a new head predicts no objects (loss = the squared counts) instead of
            # random densities over every cell, whose squared error would swamp the answers'.
            self.density = nn.Conv2d(c, 1, 1)
            nn.init.zeros_(self.density.weight)
            nn.init.zeros_(self.density.bias)
        self.register_buffer("masks", answer_masks(), persistent=False)

    def logits(self, features: torch.Tensor, kinds: torch.Tensor) -> torch.Tensor:
        """Classifier logits of root feature maps, answers of the wrong type masked out."""
        out = self.classifier(features)
        return out.masked_fill(~self.masks[kinds], float("-inf"))

    def forward(self, images: torch.Tensor, plan, sets: bool = False):
        """Answer logits (n_programs, n_answers) for normalised images and a compiled plan.

        With ``sets``, also per step the set head's (N, h, w) logit map and the count head's
        (N, h, w) density map for steps whose function yields objects, None for the others
        and for a head the network lacks (see :mod:`.training.auxiliary`).
        """
        from clevrlang.modules.learned.compiler import run_plan

        plan = plan.to(images.device)
        roots, outs = run_plan(self, self.stem(images), plan, keep=True)
        logits = self.logits(roots, plan.kinds)
        if not sets:
            return logits
        is_set = [FUNCTIONS[step.token.partition("[")[0]].output in (Type.OBJECTS, Type.OBJECT)
                  for step in plan.steps]

        def maps(head):
            return [head(out)[:, 0] if head is not None and s else None
                    for s, out in zip(is_set, outs)]

        return logits, maps(getattr(self, "sets", None)), maps(getattr(self, "density", None))
