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
