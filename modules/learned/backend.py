"""``get_backend("learned")``: the module network answering programs on images.

A batch of (program, image) pairs is compiled into one plan (:mod:`.compiler`) and run in
one pass; each image appears once in the batch however many questions it has (identical
array objects are shared). The interpreter runs one program on one image node by node,
its values are feature maps -- for traces and :meth:`LearnedBackend.explain`.

>>> from clevrlang import parse
>>> from clevrlang.world.render import render
>>> from clevrlang.world.scenes import make_scene
>>> image = render(make_scene(0, 1), 160, 120).image
>>> backend = LearnedBackend()  # the default checkpoint, installed with the package
>>> backend.answer([parse("exist(scene())")], [image])
['yes']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from clevrlang.backends import Backend, Capabilities
from clevrlang.devices import pick_device
from clevrlang.images import as_image
from clevrlang.language.errors import CheckpointError, DataError, ExecutionError, UsageError
from clevrlang.language.ir import Node
from clevrlang.modules.learned.batching import ProgramTable
from clevrlang.modules.learned.checkpoint import STATE_FILE, load_model
from clevrlang.modules.learned.compiler import answer_kind, check
from clevrlang.modules.learned.modules import token_of
from clevrlang.modules.learned.stem import to_tensor
from clevrlang.runtime import Failure, Interpreter

DEFAULT_FILE = "model.safetensors"


def default_checkpoint() -> Path:
    """The checkpoint installed with the package (``modules/learned/defaults/``)."""
    return Path(str(resources.files("clevrlang.modules.learned").joinpath("defaults", DEFAULT_FILE)))


def resolve_checkpoint(checkpoint) -> Path:
    """A file, a training folder (its ``best``, else ``model`` file) or None (the default)."""
    if checkpoint is None:
        path = default_checkpoint()
        if not path.is_file():
            raise CheckpointError("no default learned checkpoint is installed", where=str(path),
                                  hint="train one: clevr train learned --world DIR --out CK")
        return path
    path = Path(checkpoint)
    if path.is_dir():
        for name in ("best.safetensors", DEFAULT_FILE, STATE_FILE):
            if (path / name).is_file():
                return path / name
        raise CheckpointError("folder holds no best/model/last.safetensors", where=str(path))
    return path


class LearnedBackend(Backend):
    """Neural module networks from a checkpoint; ``device="auto"`` uses CUDA when present.

    ``checkpoint`` is a .safetensors file or a training folder; ``model`` is the same (the
    name ``clevr run --model`` passes to every back end).
    """

    name = "learned"
    capabilities = Capabilities(needs="images", explain=True, draw=True, probabilities=True)

    def __init__(self, checkpoint=None, device: str = "auto", batch: int = 256, model=None):
        self.path = resolve_checkpoint(checkpoint if checkpoint is not None else model)
        self.device = pick_device(device)
        self.model, self.info = load_model(self.path, self.device)
        self.config = self.model.config
        self.batch = batch

    # -- batches ---------------------------------------------------------------------------
    def _nodes(self, programs, images, errors: str):
        if errors not in ("raise", "return"):
            raise UsageError(f"errors must be 'raise' or 'return', not {errors!r}")
        if len(programs) != len(images):
            raise UsageError(f"{len(programs)} programs but {len(images)} images")
        nodes, failures = [], {}
        for i, p in enumerate(programs):
            node = p if isinstance(p, Node) else p.node
            why = check(node)
            if why is None and answer_kind(node) < 0:
                why = f"the program's result is {node.type}; the learned back end answers " \
                      "Bool, Int and attribute questions"
            if why is not None:
                if errors == "raise":
                    raise ExecutionError(f"question {i}: {why}", where=f"while compiling {node.label()}")
                failures[i] = Failure(why, node.label())
            nodes.append(node)
        return nodes, failures

    @torch.inference_mode()
    def _probabilities(self, nodes: list[Node], images: Sequence) -> list[tuple[int, float]]:
        out = []
        for start in range(0, len(nodes), self.batch):
            chunk = range(start, min(start + self.batch, len(nodes)))
            slot_of: dict[int, int] = {}
            uniq = []
            slots = []
            for i in chunk:
                key = id(images[i])
                if key not in slot_of:
                    slot_of[key] = len(uniq)
                    uniq.append(as_image(images[i], DataError))
                slots.append(slot_of[key])
            x = to_tensor(uniq, self.config.image_size, self.device)
            # Built from arrays and not cached: an evaluation's batches never repeat, and
            # compile_batch's cache held ~27 MB per walked plan (1.7 GB at its 64 plans).
            plan = ProgramTable([nodes[i] for i in chunk]).plan(
                np.arange(len(chunk)), np.asarray(slots, np.int64), self.device)
            probs = torch.softmax(self.model(x, plan), 1)
            p, idx = probs.max(1)
            out.extend(zip(idx.tolist(), p.tolist()))
        return out

    def answer_with_probability(self, programs, images, *, errors: str = "raise") -> list:
        """``(answer, probability)`` per question, or a Failure (``errors="return"``)."""
        nodes, failures = self._nodes(programs, images, errors)
        ok = [i for i in range(len(nodes)) if i not in failures]
        results: list = [failures.get(i) for i in range(len(nodes))]
        answers = self.config.answers
        for i, (a, p) in zip(ok, self._probabilities([nodes[i] for i in ok], [images[i] for i in ok])):
            results[i] = (answers[a], p)
        return results

    def answer(self, programs, images, *, errors: str = "raise") -> list:
        """CLEVR answer strings for ``programs[i]`` on ``images[i]`` (H x W x 3 uint8)."""
        return [r if isinstance(r, Failure) else r[0]
                for r in self.answer_with_probability(programs, images, errors=errors)]

    # -- one program -----------------------------------------------------------------------
    def interpreter(self, image, grad: bool = False) -> "LearnedInterpreter":
        return LearnedInterpreter(self, None if image is None else as_image(image, DataError), grad)

    def explain(self, program, image, path) -> Path:
        """Write a PNG: the image, the program, its answer, the saliency of the final
        feature map and each module's output energy. Returns the path."""
        from clevrlang.modules.learned.explain import explain

        return explain(self, program, as_image(image, DataError), path)


class LearnedInterpreter(Interpreter):
    """One program on one image; every node's value is its module's feature map (1, C, H, W).

    :meth:`value` of a question (a Bool, Int or attribute node) is the classifier's answer,
    so ``clevr run`` and ``.clv`` suites read answers; ``values`` keeps the feature maps.
    """

    name = "learned"

    def __init__(self, backend: LearnedBackend, image, grad: bool = False):
        super().__init__(image)
        self.backend = backend
        self.model = backend.model
        self.grad = grad  # build the autograd graph (explain's saliency needs it)
        self.last: Node | None = None
        self.probability: float | None = None  # of the last answer value() returned
        self.scene_features: torch.Tensor | None = None  # for modules that see the image

    def run(self, roots):
        with torch.set_grad_enabled(self.grad):
            return super().run(roots)

    def value(self, root: Node):
        self.last = root
        self.probability = None
        if answer_kind(root) < 0:
            return self.run([root])[root]
        value = self.run([root])[root]
        if not torch.is_tensor(value):  # computed on images, not by a module (nbytes, ssim)
            return value
        answer, self.probability = self.answer(root)
        return answer

    def features(self, image) -> torch.Tensor:
        x = to_tensor([image], self.backend.config.image_size, self.backend.device)
        return self.model.stem(x)

    def op_scene(self, node: Node, image=None) -> torch.Tensor:
        image = self.context if image is None else image
        if image is None:
            raise ExecutionError("no current image: give --image")
        self.scene_features = self.features(image)
        return self.scene_features

    def _module(self, node: Node, *inputs: torch.Tensor) -> torch.Tensor:
        token = token_of(node)
        if token not in self.model.mods:
            raise ExecutionError(f"no learned module for {node.label()}")
        image = self.scene_features if self.model.config.image_skip else None
        return self.model.mods[token](*inputs, image=image)

    op_filter = op_unique = op_relate = op_set = op_count = op_exist = _module
    op_query = op_same = op_equal = op_compare = _module

    def answer(self, node: Node) -> tuple[str, float]:
        """The answer (and its probability) the classifier reads off ``node``'s feature map."""
        kind = answer_kind(node)
        if kind < 0:
            raise ExecutionError(f"{node.label()} returns {node.type}, which has no answer")
        features = self.run([node])[node]
        with torch.set_grad_enabled(self.grad):
            logits = self.model.logits(features, torch.tensor([kind], device=features.device))
        p, i = torch.softmax(logits.detach(), 1).max(1)
        return self.backend.config.answers[int(i)], float(p)

    def describe(self, node: Node, value) -> str:
        """A node's value for traces: the map's size and energy, and the answer if it has one."""
        if not torch.is_tensor(value):
            return str(value)
        energy = float(value.detach().pow(2).sum(1).sqrt().mean())
        text = f"features {tuple(value.shape[1:])}, mean energy {energy:.3f}"
        if answer_kind(node) >= 0:
            a, p = self.answer(node)
            text += f" -> {a} (p={p:.2f})"
        return text

    def draw(self, path) -> Path:
        """``clevr run --show``: :meth:`LearnedBackend.explain` of the last question."""
        if self.last is None or self.context is None:
            raise UsageError("nothing to draw: run a question on an image first")
        return self.backend.explain(self.last, self.context, path)
