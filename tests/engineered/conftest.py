"""Fixtures for the engineered back end: a tiny model trained once per session, in tmp.

Ultralytics reads its config folder at import, so the cache is pointed into a temporary
folder before anything imports it; every file the tests make lands under pytest's tmp.
"""

import os

import pytest

N_TRAIN = 24
SIZE = (160, 120)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("clevrlang-cache")
    old = os.environ.get("CLEVRLANG_CACHE")
    os.environ["CLEVRLANG_CACHE"] = str(cache)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield cache
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("CLEVRLANG_CACHE", None)
    else:
        os.environ["CLEVRLANG_CACHE"] = old


@pytest.fixture(scope="session")
def samples():
    """Rendered samples: the first N_TRAIN train, the rest held out."""
    from clevrlang.modules.engineered.samples import synth_samples

    return synth_samples(N_TRAIN + 6, seed=11, width=SIZE[0], height=SIZE[1])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, samples):
    """A detector trained for one epoch plus SVMs: runs end to end, detects little."""
    from clevrlang.modules.engineered.train import train_engineered

    out = tmp_path_factory.mktemp("engineered") / "model"
    manifest = train_engineered(samples, out, epochs=1, imgsz=64, threads=1, progress=False,
                                device="cpu")
    return out, manifest
