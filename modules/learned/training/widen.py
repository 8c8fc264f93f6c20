"""A trained network made wider without changing what it computes (Net2WiderNet).

Chen, Goodfellow and Shlens (2016), "Net2Net": a layer with C channels becomes one with
C' > C by copying channels -- new channel j repeats old channel g(j) -- and dividing every
weight that *reads* a copied channel by the number of its copies, so the next layer sums
back exactly what it read before. ReLUs, residual sums, pooling and concatenation all
commute with the copying, so the wider network gives the same answers and training goes on
from where the narrow one stopped, with more capacity, instead of starting over.

Three channel spaces are widened: the stem's two inner widths and the feature channels C
that flow between the stem, every module, the classifier and the set and count heads (one
mapping for all, since modules read each other's outputs). Inside each residual block the
hidden channels get their own mapping. The coordinate channels are never copied. Copies of
a channel would receive the same updates forever, so ``noise`` (relative to the layer's
weight scale) perturbs the weights that *write* the new copies; 0 keeps the function exact.

>>> import torch
>>> from clevrlang.modules.learned.model import NMN, ModelConfig
>>> torch.manual_seed(0) and None
>>> net = NMN(ModelConfig(channels=8, image_size=(64, 48), stem_widths=(4, 8)))
>>> wide = widen(net, 12, noise=0.0)
>>> wide.config.channels, wide.config.stem_widths
(12, (6, 12))
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from clevrlang.modules.learned.model import NMN, ModelConfig
from clevrlang.modules.learned.modules import BinaryModule, ResidualBlock


class Mapping:
    """Which old channel each of ``new`` channels copies: the old ones first, then random
    picks; ``counts[i]`` is how many channels now carry old channel ``i``."""

    def __init__(self, old: int, new: int, generator: torch.Generator):
        if new < old:
            raise ValueError(f"cannot widen {old} channels to {new}")
        extra = torch.randint(old, (new - old,), generator=generator)
        self.source = torch.cat([torch.arange(old), extra])
        self.counts = torch.bincount(self.source, minlength=old).to(torch.float32)
        self.old, self.new = old, new


# An input layout: the segments of a conv's input channels, in order, each a Mapping (copied
# channels) or an int (that many channels read as they are, e.g. the coordinate maps).
Layout = list


def _read(weight: torch.Tensor, layout: Layout) -> torch.Tensor:
    """``weight`` (out, in, ...) re-indexed along ``in`` for the widened input: each copy of a
    channel reads its weight divided by the number of copies."""
    pieces, at = [], 0
    for seg in layout:
        if isinstance(seg, int):
            pieces.append(weight[:, at:at + seg])
            at += seg
            continue
        w = weight[:, at:at + seg.old] / seg.counts.view(1, -1, *[1] * (weight.dim() - 2))
        pieces.append(w[:, seg.source])
        at += seg.old
    if at != weight.shape[1]:
        raise ValueError(f"layout covers {at} input channels, the layer has {weight.shape[1]}")
    return torch.cat(pieces, 1)


def _widen_conv(conv: nn.Conv2d, inputs: Layout, out: Mapping | None,
                noise: float, generator: torch.Generator) -> nn.Conv2d:
    """A copy of ``conv`` reading the widened ``inputs`` and writing ``out``'s channels."""
    weight = _read(conv.weight.detach(), inputs)
    bias = conv.bias.detach() if conv.bias is not None else None
    if out is not None:
        weight = weight[out.source].clone()
        bias = bias[out.source].clone() if bias is not None else None
        if noise and out.new > out.old:
            scale = noise * float(conv.weight.detach().std())
            fresh = weight[out.old:]
            fresh += scale * torch.randn(fresh.shape, generator=generator)
    new = nn.Conv2d(weight.shape[1], weight.shape[0], conv.kernel_size, conv.stride,
                    conv.padding, conv.dilation, conv.groups, bias is not None)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new.to(conv.weight.device)


def _widen_block(block: ResidualBlock, features: Mapping, image: Mapping | None,
                 noise: float, generator: torch.Generator) -> None:
    hidden = Mapping(block.conv1.out_channels, features.new, generator)
    inputs: Layout = [features] + ([image] if image is not None else [])
    if block.coords:
        inputs.append(2)
    block.conv1 = _widen_conv(block.conv1, inputs, hidden, noise, generator)
    block.conv2 = _widen_conv(block.conv2, [hidden], features, noise, generator)
    if block.has_context:  # the summary is a mean of features: it copies as they do
        block.attend = _widen_conv(block.attend, [features], None, noise, generator)
        block.context = _widen_linear(block.context, features, hidden, noise, generator)


def _widen_linear(layer: nn.Linear, inputs: Mapping, out: Mapping, noise: float,
                  generator: torch.Generator) -> nn.Linear:
    """``layer`` as a 1x1 convolution, widened as :func:`_widen_conv` widens one."""
    conv = nn.Conv2d(layer.in_features, layer.out_features, 1)
    with torch.no_grad():
        conv.weight.copy_(layer.weight[:, :, None, None])
        conv.bias.copy_(layer.bias)
    wide = _widen_conv(conv, [inputs], out, noise, generator)
    new = nn.Linear(wide.in_channels, wide.out_channels)
    with torch.no_grad():
        new.weight.copy_(wide.weight[:, :, 0, 0])
        new.bias.copy_(wide.bias)
    return new.to(layer.weight.device)


def wider_config(config: ModelConfig, channels: int) -> ModelConfig:
    """``config`` with ``channels`` feature channels and the stem's inner widths scaled by
    the same factor (ValueError if that is not wider)."""
    if channels <= config.channels:
        raise ValueError(f"the network already has {config.channels} channels, not fewer "
                         f"than {channels}")
    a, b = config.stem_widths
    return replace(config, channels=channels,
                   stem_widths=(a * channels // config.channels, b * channels // config.channels))


def widen(model: NMN, channels: int, noise: float = 0.01, seed: int = 0) -> NMN:
    """A new network with :func:`wider_config` computing what ``model`` computes (exactly
    when ``noise`` is 0)."""
    config = wider_config(model.config, channels)
    wide = NMN(config)
    wide.load_state_dict(_widened_state(model, channels, config.stem_widths, noise, seed))
    return wide.to(next(model.parameters()).device).train(model.training)


def _widened_state(model: NMN, channels: int, widths: tuple[int, int], noise: float,
                   seed: int) -> dict:
    import copy

    g = torch.Generator().manual_seed(seed)
    net = copy.deepcopy(model).cpu()
    config = net.config
    a, b = config.stem_widths
    feat = Mapping(config.channels, channels, g)
    ma, mb = Mapping(a, widths[0], g), Mapping(b, widths[1], g)
    # The stem: 3 -> a -> b -> C -> C, each conv followed by its ReLU.
    layers = net.stem.layers
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    plan = [([3], ma), ([ma], mb), ([mb], feat), ([feat], feat)]
    for i, (inputs, out) in zip(convs, plan):
        layers[i] = _widen_conv(layers[i], inputs, out, noise, g)
    image = feat if config.image_skip else None
    for module in net.mods.values():
        if isinstance(module, BinaryModule):
            module.project = _widen_conv(module.project, [feat, feat], feat, noise, g)
        _widen_block(module.block, feat, image, noise, g)
    net.classifier.proj = _widen_conv(net.classifier.proj, [feat], None, noise, g)
    for head in ("sets", "density"):
        if hasattr(net, head):
            setattr(net, head, _widen_conv(getattr(net, head), [feat], None, noise, g))
    return net.state_dict()
