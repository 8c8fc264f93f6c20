"""Stem pretraining on the world's own dense labels, a stand-in for ImageNet features.

The renderer gives an instance mask with every image, so each cell of the stem's feature
grid can be labelled for free: background or object, and that object's colour, size,
material and shape. A 1x1 convolution over the stem's features predicts all five; the
stem's weights are then saved (``stem.*`` tensors, format ``clevrlang-stem/1``) for
``clevr train learned --stem FILE``.
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from clevrlang.language.vocabulary import ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS
from clevrlang.modules.learned import checkpoint as ck
from clevrlang.modules.learned.model import ModelConfig
from clevrlang.modules.learned.stem import STRIDE, Stem, normalize

log = logging.getLogger(__name__)
STEM_FORMAT = "clevrlang-stem/1"
HEADS = ("object",) + ATTRIBUTES  # object: background 0 / object 1


def head_sizes() -> list[int]:
    return [2] + [len(ENUMS[ATTRIBUTE_TYPES[a]]) for a in ATTRIBUTES]


def dense_labels(scene: dict, mask: np.ndarray) -> np.ndarray:
    """(5, H/8, W/8) int64 labels: object yes/no, then attribute codes (-1 on background).

    A cell takes the instance covering most of its 8x8 pixels (background included).
    """
    h, w = mask.shape[0] // STRIDE, mask.shape[1] // STRIDE
    n = len(scene["objects"])
    cells = mask[:h * STRIDE, :w * STRIDE].reshape(h, STRIDE, w, STRIDE).transpose(0, 2, 1, 3)
    counts = np.stack([(cells == k).sum((2, 3)) for k in range(n + 1)])
    owner = counts.argmax(0)  # 0 = background, k = object k - 1
    table = np.full((len(HEADS), n + 1), -1, np.int64)
    table[0] = [0] + [1] * n
    for i, obj in enumerate(scene["objects"]):
        for a, attr in enumerate(ATTRIBUTES):
            table[1 + a, i + 1] = ENUMS[ATTRIBUTE_TYPES[attr]].index(obj[attr])
    return table[:, owner]


class DenseHead(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.out = nn.Conv2d(channels, sum(head_sizes()), 1)

    def forward(self, feats: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(self.out(feats), head_sizes(), 1))


def dense_loss(outs: list[torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Summed cross entropy over the five heads, and per-head cell accuracy (objects only
    for the attributes)."""
    loss, accs = 0.0, []
    for k, logits in enumerate(outs):
        target = labels[:, k]
        loss = loss + F.cross_entropy(logits, target, ignore_index=-1)
        valid = target >= 0
        accs.append(float((logits.argmax(1) == target)[valid].float().mean()) if valid.any() else 1.0)
    return loss, accs


def make_data(n_images: int, seed: int, size: tuple[int, int]):
    """Rendered images (N, H, W, 3) uint8 and their dense labels."""
    from clevrlang.modules.learned.training.toy import toy_scenes

    raws, images, masks = toy_scenes(n_images, seed, size, split="pretrain")
    labels = np.stack([dense_labels(r, m) for r, m in zip(raws, masks)])
    return images, labels


def pretrain_stem(config: ModelConfig, out, n_images: int = 6000, steps: int = 4000,
                  batch: int = 32, lr: float = 1e-3, seed: int = 0, device="cpu",
                  progress: bool = True) -> dict:
    """Train a stem (and a throw-away dense head) and save the stem to ``out``."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    images, labels = make_data(n_images, seed, config.image_size)
    val_images, val_labels = make_data(max(64, n_images // 20), seed + 1, config.image_size)
    stem = Stem(config.channels, config.stem_widths).to(device)
    head = DenseHead(config.channels).to(device)
    params = list(stem.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="pretrain stem", unit="step", disable=not progress)
    for step in bar:
        idx = rng.integers(0, len(images), batch)
        x = normalize(torch.from_numpy(images[idx])).to(device)
        loss, accs = dense_loss(head(stem(x)), torch.from_numpy(labels[idx]).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}", color=f"{accs[2]:.2f}", refresh=False)
    with torch.no_grad():
        x = normalize(torch.from_numpy(val_images)).to(device)
        _, accs = dense_loss(head(stem(x)), torch.from_numpy(val_labels).to(device))
    result = {"cell_accuracy": dict(zip(HEADS, accs)), "images": n_images, "steps": steps,
              "seconds": round(time.perf_counter() - t0, 1)}
    ck.save_tensors(out, {f"stem.{k}": v for k, v in stem.state_dict().items()}, STEM_FORMAT,
                    {"config": config.to_json(), "info": json.dumps(result)})
    log.info("stem pretrained: %s", result)
    return result
