"""Run by test_train.py under ``torch.distributed.run`` (not a test module itself)."""

import sys

import torch

from clevrlang.modules.learned.training.toy import toy_dataset
from clevrlang.modules.learned.training.train import Trainer, TrainConfig

from learned_settings import CONFIG, TRAIN

if __name__ == "__main__":
    torch.set_num_threads(1)
    data = toy_dataset(4, 6, seed=3, size=CONFIG.image_size)
    trainer = Trainer(data, data, sys.argv[1], CONFIG, TrainConfig(**TRAIN), device="cpu",
                      progress=False)
    trainer.run()
    trainer.dist.close()
