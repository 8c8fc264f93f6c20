import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SIZE = (64, 48)


@pytest.fixture(scope="session")
def tiny_config():
    from clevrlang.modules.learned.model import ModelConfig

    return ModelConfig(channels=8, image_size=SIZE, stem_widths=(8, 8), classifier_proj=4,
                       classifier_hidden=16)


@pytest.fixture(scope="session")
def toy():
    """4 rendered scenes, 6 random programs each (every question type can occur)."""
    from clevrlang.modules.learned.training.toy import toy_dataset

    return toy_dataset(4, 6, seed=3, size=SIZE)


@pytest.fixture
def tiny_model(tiny_config):
    import torch

    from clevrlang.modules.learned.model import NMN

    torch.manual_seed(0)
    return NMN(tiny_config).eval()


def small_world(out, train: int, val: int, block: int):
    """A 96x64 world in ``out``: ``train`` and ``val`` images (seeds 3 and 4), 4 questions each."""
    from clevrlang.world.make import WorldSpec, make_world

    for split, n, seed in (("train", train, 3), ("val", val, 4)):
        make_world(out, WorldSpec(images=n, split=split, questions_per_image=4, width=96,
                                  height=64, seed=seed, block_size=block), progress=False)
    return out
