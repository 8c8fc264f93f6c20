import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from clevrlang.compress import (Code, LearnedCodec, NetConfig, build_net, get_codec, load_net,
                                save_net)
from clevrlang.compress.binarizer import binarize
from clevrlang.compress.networks import SPECS, unroll
from clevrlang.language.errors import DataError, UsageError
from clevrlang.language.vocabulary import LEARNED_CODECS

TINY = {"fc_residual_shared": 16, "fc_residual": 16, "conv_residual_shared": 16,
        "conv_residual": 16, "fc_lstm": 16, "conv_lstm": 16, "conv_autoencoder": 16}


def tiny(name: str, iterations: int = 4, seed: int = 0) -> LearnedCodec:
    return LearnedCodec(build_net(NetConfig(name, TINY[name], iterations), seed))


def test_every_learned_codec_has_a_network():
    assert set(SPECS) == set(LEARNED_CODECS)


@pytest.mark.parametrize("name", LEARNED_CODECS)
def test_round_trip_any_shape(name, picture, thumbs):
    codec = tiny(name)
    for img in (picture, thumbs[0]):
        code = codec.encode(img, 10_000)
        assert code.iterations == 4  # capped at the trained count
        assert code.nbytes == code.total_bytes == len(code.data)
        out = codec.decode(code)
        assert out.shape == img.shape and out.dtype == np.uint8


@pytest.mark.parametrize("name", LEARNED_CODECS)
def test_budget_picks_iterations(name, thumbs):
    codec = tiny(name, iterations=16)
    # every codec spends 4 bits per 8x8 pixels per iteration: 8 B on a 32x32 thumbnail
    for budget, its in ((8, 1), (63, 7), (64, 8), (128, 16), (500, 16)):
        code = codec.encode(thumbs[0], budget)
        assert (code.iterations, code.bits_per_iteration, code.nbytes) == (its, 64, 8 * its)
    with pytest.raises(UsageError, match="below one iteration .* at least 8 B"):
        codec.encode(thumbs[0], 7)


@pytest.mark.parametrize("name", ["conv_lstm", "conv_residual"])
def test_code_channels_set_the_bits_per_iteration(name, thumbs, tmp_path):
    # 32 bit-channels: the 2016 paper's 128 bits per 32x32 tile, so 128 B is 8 iterations
    codec = LearnedCodec(build_net(NetConfig(name, 16, 8, code_channels=32)))
    code = codec.encode(thumbs[0], 128)
    assert (code.iterations, code.bits_per_iteration, code.nbytes) == (8, 128, 128)
    assert codec.encode(thumbs[0], 64).iterations == 4
    assert codec.decode(code).shape == thumbs[0].shape
    save_net(tmp_path / "net.safetensors", codec.net)
    assert load_net(tmp_path / "net.safetensors").config.code_channels == 32
    with pytest.raises(UsageError, match="code channels"):
        build_net(NetConfig(name, 16, 8, code_channels=0))


def test_prefix_of_a_code_is_its_earlier_iterations(thumbs):
    codec = tiny("conv_lstm", iterations=6)
    long, short = codec.encode(thumbs[1], 48), codec.encode(thumbs[1], 16)
    assert long.data[:16] == short.data


def test_code_from_other_weights_is_refused(thumbs):
    code = tiny("fc_lstm", seed=0).encode(thumbs[0], 32)
    with pytest.raises(DataError, match="made with weights"):
        tiny("fc_lstm", seed=1).decode(code)
    with pytest.raises(DataError, match="made by codec 'fc_lstm'"):
        tiny("conv_lstm").decode(code)


def test_binarizer_is_unbiased_and_straight_through():
    gen = torch.Generator().manual_seed(0)
    x = torch.full((20000,), 0.4, requires_grad=True)
    b = binarize(x, sample=True, generator=gen)
    assert set(b.unique().tolist()) == {-1.0, 1.0}
    assert abs(float(b.detach().mean()) - 0.4) < 0.03
    b.sum().backward()
    assert torch.all(x.grad == 1)


def test_residual_framework_reduces_error_over_iterations():
    # a freshly initialised residual net is not a codec, but the L1 of r_t is its loss
    net = build_net(NetConfig("conv_residual_shared", 16, 3))
    _, losses, codes = unroll(net, torch.rand(2, 3, 32, 32) - 0.5, 3, sample=False)
    assert len(losses) == len(codes) == 3 and codes[0].shape == (2, 64)


_DECODE = textwrap.dedent("""
    import sys, numpy as np
    from clevrlang.compress import Code, get_codec
    code = Code.load(sys.argv[1])
    np.save(sys.argv[3], get_codec(code.name, weights=sys.argv[2]).decode(code))
""")


@pytest.mark.parametrize("name", ["conv_lstm", "fc_residual"])
def test_decode_is_bit_exact_in_a_fresh_process(name, picture, tmp_path):
    net = build_net(NetConfig(name, TINY[name], 4), seed=3)
    weights = save_net(tmp_path / f"{name}.safetensors", net)
    codec = get_codec(name, weights=weights)
    code = codec.encode(picture, 200)
    code.save(tmp_path / "img.clc")
    here = codec.decode(Code.load(tmp_path / "img.clc"))
    subprocess.run([sys.executable, "-c", _DECODE, str(tmp_path / "img.clc"), str(weights),
                    str(tmp_path / "out.npy")], check=True, timeout=120)
    assert np.array_equal(np.load(tmp_path / "out.npy"), here)
    assert np.array_equal(codec.decode(code), here)


def test_half_precision_weights_load_as_float32(tmp_path, thumbs):
    net = build_net(NetConfig("fc_lstm", 16, 4), seed=2)
    path = save_net(tmp_path / "h.safetensors", net, dtype=torch.float16)
    a, b = get_codec("fc_lstm", weights=path), get_codec("fc_lstm", weights=path)
    assert a.fingerprint == b.fingerprint
    assert next(a.net.parameters()).dtype == torch.float32
    assert np.array_equal(b.decode(a.encode(thumbs[0], 32)), a.decode(a.encode(thumbs[0], 32)))


def test_bad_width_is_a_usage_error():
    with pytest.raises(UsageError, match="multiple of 16"):
        build_net(NetConfig("conv_lstm", 24, 16))


def test_edge_channels_widen_the_conv_lstm_ends(thumbs, tmp_path):
    # E channels after the encoder's first conv and E / 2 before the decoder's output conv
    net = build_net(NetConfig("conv_lstm", 16, 4, code_channels=32, edge_channels=8))
    assert net.e_conv.out_channels == 8 and net.d_out.in_channels == 4
    paper = build_net(NetConfig("conv_lstm", 16, 4, code_channels=32))
    assert paper.e_conv.out_channels == 2 and paper.d_out.in_channels == 1  # width / 8, / 16
    codec = LearnedCodec(net)
    code = codec.encode(thumbs[0], 64)
    save_net(tmp_path / "net.safetensors", net)
    again = LearnedCodec(load_net(tmp_path / "net.safetensors"))
    assert again.net.config.edge_channels == 8
    assert np.array_equal(again.decode(code), codec.decode(code))


@pytest.mark.parametrize("codec, edge", [("conv_lstm", 7), ("conv_residual", 8)])
def test_edge_channels_are_checked(codec, edge):
    with pytest.raises(UsageError, match="edge channels"):
        build_net(NetConfig(codec, 16, 4, edge_channels=edge))


def test_configs_written_before_edge_channels_load_with_the_papers_ends():
    old = {"codec": "conv_lstm", "width": 64, "iterations": 8, "code_channels": 32}
    assert NetConfig.from_json(old).edge_channels == 0


def test_widening_the_edges_keeps_what_the_network_computes():
    net = build_net(NetConfig("conv_lstm", 16, 3, code_channels=32), seed=4).eval()
    wide = net.widened(8).eval()
    assert wide.config.edge_channels == 8 and wide.d_out.in_channels == 4
    x = torch.rand(5, 3, 32, 32) - 0.5
    with torch.no_grad():
        a, _, codes_a = unroll(net, x, 3, sample=False)
        b, _, codes_b = unroll(wide, x, 3, sample=False)
    assert torch.equal(a, b) and all(torch.equal(p, q) for p, q in zip(codes_a, codes_b))
    # and it can learn: the weights reading the new channels get gradients
    _, losses, _ = unroll(wide.train(), x, 3, sample=True,
                          generator=torch.Generator().manual_seed(0))
    torch.stack(losses).sum().backward()
    assert wide.d_out.weight.grad[:, 2:].abs().sum() > 0
    assert wide.e_rnn[0].conv_x.weight.grad[:, 2:].abs().sum() > 0
    with pytest.raises(UsageError, match="widen"):
        wide.widened(4)


@torch.no_grad()
def test_conv_autoencoder_codes_the_tile_once_and_decodes_the_groups_received():
    """Not recurrent, not residual: iteration t sends the t-th group of one encoder pass
    over the tile, and the picture after t iterations is the decoder of groups 0..t alone."""
    net = build_net(NetConfig("conv_autoencoder", 16, 4, code_channels=8))
    x = torch.rand(2, 3, 32, 32) - 0.5
    recon, _, codes = unroll(net, x, 4, sample=False)
    once = binarize(net.enc(x), sample=False)  # (2, 4 * 8, 2, 2)
    for t, b in enumerate(codes):
        assert torch.equal(b, once[:, 8 * t:8 * (t + 1)].flatten(1))
    two = once.clone()
    two[:, 16:] = 0
    recon2, _, _ = unroll(net, x, 2, sample=False)
    assert torch.allclose(recon2, net.dec(two), atol=1e-6)
    assert torch.allclose(recon, net.dec(once), atol=1e-6)
