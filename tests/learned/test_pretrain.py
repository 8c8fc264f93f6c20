"""Stem pretraining: dense labels from the instance mask, and the stem loads into a model."""

import numpy as np
import torch

from clevrlang.language.vocabulary import COLORS
from clevrlang.modules.learned.model import NMN
from clevrlang.modules.learned.training.pretrain import dense_labels, pretrain_stem
from clevrlang.modules.learned.training.train import load_stem


def test_dense_labels_follow_the_mask():
    scene = {"objects": [{"size": "large", "color": "red", "material": "metal", "shape": "cube"}]}
    mask = np.zeros((16, 24), np.uint8)
    mask[0:8, 8:16] = 1  # object 0 fills cell (0, 1)
    mask[8:11, 0:8] = 1  # 3 of 8 rows of cell (1, 0): background wins
    labels = dense_labels(scene, mask)
    assert labels.shape == (5, 2, 3)
    assert labels[0].tolist() == [[0, 1, 0], [0, 0, 0]]
    assert labels[2, 0, 1] == COLORS.index("red")
    assert labels[2, 1, 0] == -1  # no attribute on background


def test_pretrained_stem_loads(tmp_path, tiny_config):
    path = tmp_path / "stem.safetensors"
    result = pretrain_stem(tiny_config, path, n_images=4, steps=2, batch=2, progress=False)
    assert set(result["cell_accuracy"]) == {"object", "size", "color", "material", "shape"}
    model = NMN(tiny_config)
    load_stem(model, path)
    from safetensors.torch import load_file

    stored = load_file(path)
    assert torch.equal(model.stem.layers[0].weight, stored["stem.layers.0.weight"])
