import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these models are tiny, and threads only contend on a shared CI box."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A world of 12 images x 10 questions, made by `clevr world make`."""
    from clevrlang.cli import main

    out = tmp_path_factory.mktemp("ask") / "world"
    assert main(["world", "make", str(out), "--images", "12", "--seed", "5", "-q"]) == 0
    return out


@pytest.fixture(scope="session")
def untrained():
    """A small random generator: its programs are long and odd, which decoding must survive."""
    from clevrlang.asking.model import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig.default(embed=16, hidden=32)).eval()
