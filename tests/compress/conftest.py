import sys

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Torch tests on one thread (the CPU is shared); torch is not imported for the others."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def thumbs() -> np.ndarray:
    from clevrlang.compress.synthetic import synthetic_images

    return synthetic_images(3, size=(32, 32), seed=7)


@pytest.fixture(scope="session")
def picture() -> np.ndarray:
    """An image whose sides are not multiples of any tile size."""
    from clevrlang.compress.synthetic import synthetic_images

    return synthetic_images(1, size=(45, 70), seed=8)[0]
