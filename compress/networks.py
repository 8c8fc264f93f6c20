"""The learned codecs' networks, all in one progressive residual framework.

Each iteration ``t`` codes the residual left by the previous ones:
``F_t(r_{t-1}) = D_t(B(E_t(r_{t-1})))`` with ``r_0 = x``. Residual networks add up their
outputs (``x_t = x_{t-1} + F_t``); LSTM networks keep state across iterations and predict the
image itself (``x_t = F_t``). Either way ``r_t = x - x_t``, and training minimises a loss
summed over iterations (by default ``sum_t mean |r_t|``, L1 as Toderici et al. 2017; see
:func:`unroll`). Fully connected networks code 4 bits per 8x8 patch per iteration;
convolutional ones work on 32x32 tiles with ``code_channels`` bit-channels at 1/16 resolution
(16: 4 bits per 8x8 pixels, 64 bits per tile; 32: the 2016 paper's 128 bits per tile, so
128 B is 8 iterations instead of 16). Pixels are scaled to [-0.5, 0.5].

``width`` is the unit count of the widest layers: 512 is the papers' full width; the
defaults (:data:`DEFAULT_WIDTH`) are sized to train on a 2-core CPU in under an hour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from clevrlang.language.errors import UsageError

from .binarizer import binarize

BITS_PER_PATCH = 4  # bits per 8x8 pixels per iteration (0.0625 bpp per iteration)
CODE_CHANNELS = 16  # conv nets' default: 16 x (H/16) x (W/16) bits = 4 per 8x8

#: codec name -> (network class name, distinct weights per iteration)
SPECS: dict[str, tuple[str, bool]] = {
    "fc_residual_shared": ("FCResidual", False),
    "fc_residual": ("FCResidual", True),
    "conv_residual_shared": ("ConvResidual", False),
    "conv_residual": ("ConvResidual", True),
    "fc_lstm": ("FCLSTM", False),
    "conv_lstm": ("ConvLSTM", False),
    "conv_autoencoder": ("ConvAutoencoder", False),
}

#: Default widths: each trains at about 1-2 s per step (batch 32, 16 iterations) on one core
#: of this 2-core CPU, i.e. 2000-3500 steps in an hour, and stays a few MB on disk (distinct-
#: weight variants hold 16 copies, hence narrower). 512 is the papers' full width.
DEFAULT_WIDTH: dict[str, int] = {
    "fc_residual_shared": 512, "fc_residual": 256, "conv_residual_shared": 128,
    "conv_residual": 64, "fc_lstm": 128, "conv_lstm": 64, "conv_autoencoder": 128,
}


@dataclass(frozen=True)
class NetConfig:
    """What a checkpoint must record to rebuild its network."""

    codec: str
    width: int
    iterations: int = 16
    code_channels: int = CODE_CHANNELS  # conv nets only (fully connected: 4 bits per patch)
    edge_channels: int = 0  # conv_lstm only: see ConvLSTM; 0 = the paper's width // 8

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> NetConfig:
        return cls(codec=str(d["codec"]), width=int(d["width"]), iterations=int(d["iterations"]),
                   code_channels=int(d.get("code_channels", CODE_CHANNELS)),
                   edge_channels=int(d.get("edge_channels", 0)))


class ProgressiveNet(nn.Module):
    """Base: ``encode(r, t, state)`` -> values in (-1, 1); ``decode(b, t, state)`` -> image."""

    tile = 32
    one_shot = False  # True: the decoder predicts the image, not the residual

    def __init__(self, config: NetConfig, distinct: bool):
        super().__init__()
        self.config = config
        self.stages = config.iterations if distinct else 1

    @property
    def bits(self) -> int:
        """Bits per tile per iteration."""
        return BITS_PER_PATCH * (self.tile // 8) ** 2

    def stage(self, t: int) -> int:
        return min(t, self.stages - 1)

    def encode(self, r: torch.Tensor, t: int, state):
        raise NotImplementedError

    def decode(self, b: torch.Tensor, t: int, state):
        raise NotImplementedError


def unroll(net: ProgressiveNet, x: torch.Tensor, iterations: int, sample: bool,
           generator: torch.Generator | None = None, step_loss=None,
           straight_through: bool = False):
    """Run ``iterations`` steps on tiles ``x``: (reconstruction, per-step loss, per-step bits).

    The per-step loss is ``step_loss(reconstruction, x)``, by default the L1 of the residual.
    """
    step_loss = step_loss or l1_loss
    recon, r = torch.zeros_like(x), x
    enc_state = dec_state = None
    losses, codes = [], []
    for t in range(iterations):
        c, enc_state = net.encode(r, t, enc_state)
        b = binarize(c, sample, generator, straight_through)
        out, dec_state = net.decode(b, t, dec_state)
        recon = out if net.one_shot else recon + out
        r = x - recon
        losses.append(step_loss(recon, x))
        codes.append(b)
    return recon, losses, codes


def l1_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (x - recon).abs().mean()


def decode_codes(net: ProgressiveNet, codes: list[torch.Tensor], like: torch.Tensor
                 ) -> torch.Tensor:
    """Rebuild tiles from the binary codes of iterations 0..len(codes)-1."""
    recon, state = torch.zeros_like(like), None
    for t, b in enumerate(codes):
        out, state = net.decode(b, t, state)
        recon = out if net.one_shot else recon + out
    return recon


def _mlp(sizes: list[int], last: nn.Module | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


class FCResidual(ProgressiveNet):
    """Fully connected residual auto-encoder on 8x8 patches (two hidden layers each side)."""

    tile = 8

    def __init__(self, config: NetConfig, distinct: bool):
        super().__init__(config, distinct)
        w, px = config.width, 3 * 8 * 8
        self.enc = nn.ModuleList(_mlp([px, w, w, BITS_PER_PATCH], nn.Tanh())
                                 for _ in range(self.stages))
        self.dec = nn.ModuleList(_mlp([BITS_PER_PATCH, w, w, px], None)
                                 for _ in range(self.stages))

    def encode(self, r, t, state):
        return self.enc[self.stage(t)](r.flatten(1)), None

    def decode(self, b, t, state):
        return self.dec[self.stage(t)](b).view(-1, 3, 8, 8), None


class FCLSTM(ProgressiveNet):
    """Fully connected LSTM compressor on 8x8 patches: two LSTM layers each side."""

    tile = 8
    one_shot = True

    def __init__(self, config: NetConfig, distinct: bool = False):
        super().__init__(config, distinct)
        w, px = config.width, 3 * 8 * 8
        self.e_in, self.e_out = nn.Linear(px, w), nn.Linear(w, BITS_PER_PATCH)
        self.e_lstm = nn.ModuleList([nn.LSTMCell(w, w), nn.LSTMCell(w, w)])
        self.d_in, self.d_out = nn.Linear(BITS_PER_PATCH, w), nn.Linear(w, px)
        self.d_lstm = nn.ModuleList([nn.LSTMCell(w, w), nn.LSTMCell(w, w)])

    @staticmethod
    def _stack(cells, h, state):
        state = state or [None] * len(cells)
        new = []
        for cell, s in zip(cells, state):
            hc = cell(h, s)
            new.append(hc)
            h = hc[0]
        return h, new

    def encode(self, r, t, state):
        h, state = self._stack(self.e_lstm, torch.relu(self.e_in(r.flatten(1))), state)
        return torch.tanh(self.e_out(h)), state

    def decode(self, b, t, state):
        h, state = self._stack(self.d_lstm, self.d_in(b), state)
        return self.d_out(h).view(-1, 3, 8, 8), state


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, k // 2)


class _ConvNet(ProgressiveNet):
    """Base of the convolutional codecs: ``code_channels`` bits per 16x16 pixels."""

    @property
    def bits(self) -> int:
        return self.config.code_channels * (self.tile // 16) ** 2

    def code_grid(self, b: torch.Tensor) -> torch.Tensor:
        """Flat codes -> the ``code_channels x tile/16 x tile/16`` grid the decoder reads."""
        side = self.tile // 16
        return b.view(-1, self.config.code_channels, side, side)


class _Up(nn.Sequential):
    """Sub-pixel deconvolution: conv to 4x channels, then depth-to-space by 2."""

    def __init__(self, cin: int, cout: int):
        super().__init__(_conv(cin, 4 * cout), nn.PixelShuffle(2), nn.ReLU())


class ConvResidual(_ConvNet):
    """Conv/deconv residual auto-encoder on 32x32 tiles: 4 stride-2 convs down, 4 up."""

    def __init__(self, config: NetConfig, distinct: bool):
        super().__init__(config, distinct)
        w, k = config.width, config.code_channels
        self.enc = nn.ModuleList(self._encoder(w, k) for _ in range(self.stages))
        self.dec = nn.ModuleList(self._decoder(w, k) for _ in range(self.stages))

    @staticmethod
    def _encoder(w: int, k: int) -> nn.Sequential:
        chans = [3, w // 4, w // 2, w, w]
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            layers += [_conv(a, b, 3, 2), nn.ReLU()]
        return nn.Sequential(*layers, _conv(w, k, 1), nn.Tanh())

    @staticmethod
    def _decoder(w: int, k: int) -> nn.Sequential:
        chans = [w, w // 2, w // 4, w // 8, w // 8]
        ups = [_Up(a, b) for a, b in zip(chans, chans[1:])]
        return nn.Sequential(_conv(k, w, 1), nn.ReLU(), *ups, _conv(w // 8, 3))

    def encode(self, r, t, state):
        return self.enc[self.stage(t)](r).flatten(1), None

    def decode(self, b, t, state):
        return self.dec[self.stage(t)](self.code_grid(b)), None


class ConvLSTMCell(nn.Module):
    """LSTM whose gates are convolutions (input kernel 3, stride s; hidden kernel k_h)."""

    def __init__(self, cin: int, hidden: int, stride: int = 1, k_h: int = 1):
        super().__init__()
        self.hidden = hidden
        self.conv_x = _conv(cin, 4 * hidden, 3, stride)
        self.conv_h = nn.Conv2d(hidden, 4 * hidden, k_h, 1, k_h // 2, bias=False)

    def forward(self, x, state):
        gates = self.conv_x(x)
        if state is None:  # h = c = 0: skip the hidden convolution
            c = torch.zeros_like(gates[:, :self.hidden])
        else:
            h, c = state
            gates = gates + self.conv_h(h)
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


def _scaled_he_init(net: nn.Module, gain: float = 2.0) -> None:
    """He-normal convolutions scaled by ``gain``, zero biases.

    With PyTorch's default init each stacked LSTM layer shrinks its input (gates near 0.5,
    tanh of small values): the encoder's gradients were ~1e-7, its codes ~0.06 in magnitude,
    and 300 steps learned the data set's mean image (held-out L1 0.0424 at every iteration,
    the per-pixel mean's own 0.0423). With this init the same 300 steps reach 0.0346 by
    iteration 5.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="linear")
            m.weight.data.mul_(gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ConvLSTM(_ConvNet):
    """Conv/deconv LSTM compressor on 32x32 tiles (Toderici et al.'s layout, scaled by width).

    ``edge_channels`` (E) sets the two full-resolution ends: the encoder's first convolution
    has E channels and the decoder's last LSTM 2E, which depth-to-space turns into E / 2
    channels at 32x32 for the output convolution. The paper's layout is E = width / 8; scaled
    down to width 64 that is 8 and 4, and the encoder's first layer then is a linear map of
    each 2x2 cell's 12 values to 8, which cannot see part of every residual it is asked to code.
    """

    one_shot = True

    def __init__(self, config: NetConfig, distinct: bool = False):
        super().__init__(config, distinct)
        w = config.width
        e = config.edge_channels or w // 8
        self.e_conv = _conv(3, e, 3, 2)
        self.e_rnn = nn.ModuleList([ConvLSTMCell(e, w // 2, 2), ConvLSTMCell(w // 2, w, 2),
                                    ConvLSTMCell(w, w, 2)])
        self.e_bits = _conv(w, config.code_channels, 1)
        self.d_conv = _conv(config.code_channels, w, 1)
        self.d_rnn = nn.ModuleList([ConvLSTMCell(w, w), ConvLSTMCell(w // 4, w),
                                    ConvLSTMCell(w // 4, w // 2, k_h=3),
                                    ConvLSTMCell(w // 8, 2 * e, k_h=3)])
        self.d_out = _conv(e // 2, 3)
        self.shuffle = nn.PixelShuffle(2)
        _scaled_he_init(self)

    @property
    def edge(self) -> int:
        return self.e_conv.out_channels

    @torch.no_grad()
    def widened(self, edge: int) -> ConvLSTM:
        """A copy with ``edge`` edge channels that computes exactly what this one does.

        The old channels keep their weights; the new ones take the usual init (their recurrent
        weights zero), and every weight that reads them starts at zero: the output is the
        same, but those weights get gradients, so training puts the new channels to use.
        """
        e0 = self.edge
        if edge < e0 or edge % 2:
            raise UsageError(f"conv_lstm: can widen the edge channels from {e0} to a larger "
                             f"even number, not to {edge}")
        net = build_net(replace(self.config, edge_channels=edge))
        old, new = self.state_dict(), net.state_dict()
        for key, value in old.items():
            if new[key].shape == value.shape:
                new[key].copy_(value)
        new["e_conv.weight"][:e0] = old["e_conv.weight"]
        new["e_conv.bias"][:e0] = old["e_conv.bias"]
        reads = new["e_rnn.0.conv_x.weight"]
        reads.zero_()
        reads[:, :e0] = old["e_rnn.0.conv_x.weight"]
        # The decoder's last LSTM: gates (i, f, g, o) in blocks of `hidden` rows each.
        h0, h1, last = 2 * e0, 2 * edge, "d_rnn.3."
        for g in range(4):
            rows, old_rows = slice(g * h1, g * h1 + h0), slice(g * h0, (g + 1) * h0)
            new[last + "conv_x.weight"][rows] = old[last + "conv_x.weight"][old_rows]
            new[last + "conv_x.bias"][rows] = old[last + "conv_x.bias"][old_rows]
            new[last + "conv_h.weight"][g * h1:(g + 1) * h1] = 0
            new[last + "conv_h.weight"][rows, :h0] = old[last + "conv_h.weight"][old_rows]
        # Depth-to-space sends hidden channels 4c..4c+3 to output channel c: the old hidden
        # channels come first, so the old outputs are the first e0 / 2.
        new["d_out.weight"].zero_()
        new["d_out.weight"][:, :e0 // 2] = old["d_out.weight"]
        net.load_state_dict(new)
        return net

    def encode(self, r, t, state):
        state = state or [None] * len(self.e_rnn)
        h, new = self.e_conv(r), []
        for cell, s in zip(self.e_rnn, state):
            h, hc = cell(h, s)
            new.append(hc)
        return torch.tanh(self.e_bits(h)).flatten(1), new

    def decode(self, b, t, state):
        state = state or [None] * len(self.d_rnn)
        h, new = self.d_conv(self.code_grid(b)), []
        for cell, s in zip(self.d_rnn, state):
            h, hc = cell(h, s)
            new.append(hc)
            h = self.shuffle(h)
        return self.d_out(h), new


class ConvAutoencoder(_ConvNet):
    """Conv/deconv autoencoder on 32x32 tiles: no recurrence, no residuals.

    Toderici et al. 2016 compare their progressive networks with a plain conv/deconv
    autoencoder trained for one bit count. Here one such network serves every count: the
    encoder reads the tile once and writes all ``iterations x code_channels`` bit-channels;
    iteration ``t`` sends the ``t``-th group, and the decoder rebuilds the tile from the groups
    received so far (the others read as 0), from scratch each time (``one_shot``). Weighting
    only the last iteration's loss (``--iteration-weights 0,...,0,1``) trains the paper's
    single-rate network.
    """

    one_shot = True

    def __init__(self, config: NetConfig, distinct: bool = False):
        super().__init__(config, distinct)
        w, n = config.width, config.iterations * config.code_channels
        chans = [3, w // 4, w // 2, w, w]
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            layers += [_conv(a, b, 3, 2), nn.ReLU()]
        self.enc = nn.Sequential(*layers, _conv(w, w), nn.ReLU(), _conv(w, n, 1), nn.Tanh())
        ups = [_Up(a, b) for a, b in zip([w, w, w // 2, w // 4], [w, w // 2, w // 4, w // 8])]
        self.dec = nn.Sequential(_conv(n, w, 1), nn.ReLU(), _conv(w, w), nn.ReLU(), *ups,
                                 _conv(w // 8, 3))
        # He init keeps the signal's scale through the 13 layers; PyTorch's default shrank it
        # ~2.4x per layer, and 200 steps learned a blur of the tile whatever the bits said
        # (SSIM 0.46 at every iteration, a flat tile 0.37).
        _scaled_he_init(self, gain=2 ** 0.5)

    def encode(self, r, t, state):
        codes = self.enc(r) if state is None else state  # r is the tile itself at t = 0
        k = self.config.code_channels
        return codes[:, t * k:(t + 1) * k].flatten(1), codes

    def decode(self, b, t, state):
        k, side = self.config.code_channels, self.tile // 16
        if state is None:
            state = b.new_zeros(b.shape[0], self.config.iterations * k, side, side)
        state = state.clone()  # the groups received so far; autograd keeps each step's
        state[:, t * k:(t + 1) * k] = self.code_grid(b)
        return self.dec(state), state


def build_net(config: NetConfig, seed: int = 0) -> ProgressiveNet:
    """A freshly initialised network for ``config`` (the same weights for the same seed)."""
    cls_name, distinct = SPECS[config.codec]
    if (config.width < 16 or config.width % 16 or config.iterations < 1
            or config.code_channels < 1):
        raise UsageError(f"{config.codec}: width must be a multiple of 16 (got {config.width}),"
                         f" iterations (got {config.iterations}) and code channels (got "
                         f"{config.code_channels}) at least 1")
    if config.edge_channels and (config.codec != "conv_lstm" or config.edge_channels < 2
                                 or config.edge_channels % 2):
        raise UsageError(f"{config.codec}: edge channels (got {config.edge_channels}) are a "
                         f"conv_lstm setting and must be even")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return globals()[cls_name](config, distinct)
    finally:
        torch.random.set_rng_state(gen_state)
