"""Fixtures for the engineered back end: a tiny model trained once per session, in tmp
(the project cache, where ultralytics keeps its config, is isolated by tests/conftest.py)."""

import pytest

N_TRAIN = 24
SIZE = (160, 120)


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Ultralytics trains on one torch thread here, as on a CPU shared with other work."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def samples():
    """Rendered samples: the first N_TRAIN train, the rest held out."""
    from clevrlang.modules.engineered.training.samples import synth_samples

    return synth_samples(N_TRAIN + 6, seed=11, width=SIZE[0], height=SIZE[1])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, samples):
    """A detector trained for one epoch plus SVMs: runs end to end, detects little."""
    from clevrlang.modules.engineered.training.train import train_engineered

    out = tmp_path_factory.mktemp("engineered") / "model"
    manifest = train_engineered(samples, out, epochs=1, imgsz=64, threads=1, progress=False,
                                device="cpu")
    return out, manifest
