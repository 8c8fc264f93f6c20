"""What the module network looked at: one PNG per question.

Panels: the image with the program and the answer; the saliency of the final feature map
(the gradient of the answer's loss with respect to it, times the map, summed over channels
-- where changing the features would change the answer most); then, for every module in
execution order, the energy (L2 norm over channels) of its output feature map, each
overlaid on the image.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from clevrlang.language.ir import Node, postorder
from clevrlang.modules.learned.compiler import answer_kind
from clevrlang.modules.learned.modules import SCENE


def _up(heat: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    """(H', W') map -> image size, scaled to [0, 1]."""
    h = F.interpolate(heat[None, None].float(), size=shape, mode="bilinear", align_corners=False)[0, 0]
    h = h - h.min()
    return (h / h.max().clamp_min(1e-12)).cpu().numpy()


def maps(backend, node: Node, image: np.ndarray) -> dict:
    """Per node energy maps, the root's saliency, and the answer with its probability."""
    interp = backend.interpreter(image, grad=True)
    with torch.enable_grad():
        values = interp.run([node])
        root = values[node]
        kind = torch.tensor([answer_kind(node)], device=root.device)
        if kind.item() < 0:
            raise ValueError(f"{node.label()} returns {node.type}, which has no answer")
        root.retain_grad()
        logits = backend.model.logits(root, kind)
        target = logits.argmax(1)
        F.cross_entropy(logits, target).backward()
    prob = float(torch.softmax(logits.detach(), 1)[0, target])
    shape = image.shape[:2]
    saliency = _up((root.grad * root).detach()[0].sum(0).abs(), shape)
    energy = [(n, _up(values[n].detach()[0].pow(2).sum(0).sqrt(), shape))
              for n in postorder([node]) if n.op != SCENE]
    return {"answer": backend.config.answers[int(target)], "probability": prob,
            "saliency": saliency, "energy": energy}


def explain(backend, program, image: np.ndarray, path) -> Path:
    """Draw :func:`maps` for ``program`` on ``image`` into the PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    node = program if isinstance(program, Node) else program.node
    m = maps(backend, node, image)
    panels = 2 + len(m["energy"])
    cols = min(4, panels)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows + 0.8), squeeze=False)
    if not hasattr(program, "to_clv"):
        from clevrlang.language.program import Program

        program = Program.from_node(node)
    text = program.to_clv()
    fig.suptitle("\n".join(textwrap.wrap(text, 110)) + f"\nanswer: {m['answer']} "
                 f"(p={m['probability']:.2f})", fontsize=9)
    items = [("image", None), ("saliency of final features", m["saliency"])]
    items += [(n.label(), heat) for n, heat in m["energy"]]
    for ax, (title, heat) in zip(axes.flat, items):
        ax.imshow(image)
        if heat is not None:
            ax.imshow(heat, cmap="inferno", alpha=0.6, vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
