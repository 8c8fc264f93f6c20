"""Settings shared by test_train.py and the DDP worker process."""

from clevrlang.modules.learned.model import ModelConfig

CONFIG = ModelConfig(channels=8, image_size=(64, 48), stem_widths=(8, 8), classifier_proj=4,
                     classifier_hidden=16)
TRAIN = dict(epochs=2, batch=8, warmup=2, save_every=4, val_every=3, seed=5)  # val before a save
