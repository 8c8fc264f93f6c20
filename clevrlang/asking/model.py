"""The program generator: an LSTM encoder-decoder with attention (Johnson et al. 2017).

A bidirectional LSTM reads the question's words; an LSTM decoder writes the program's
tokens, attending over the words at each step (Luong's global attention, after the LSTM, so
a whole target sequence is one batched pass in training). Logits of tokens that would make
the program ill-typed are masked before the softmax, in training as in decoding, so the
model's distribution is over well-typed programs only.

Weights live in safetensors files with their config as JSON metadata: loading executes no
code, and a file made for other words or tokens is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from clevrlang.asking.grammar import program_tokens
from clevrlang.asking.tokens import known_words
from clevrlang.atomic import write_atomic
from clevrlang.language.errors import CheckpointError, MissingFileError

FORMAT = "clevrlang-ask/1"


@dataclass(frozen=True)
class GeneratorConfig:
    embed: int = 64
    hidden: int = 128
    words: tuple[str, ...] = ()  # question words, id order
    tokens: tuple[str, ...] = ()  # program tokens, id order

    @classmethod
    def default(cls, **sizes) -> "GeneratorConfig":
        return cls(words=known_words(), tokens=tuple(t.text for t in program_tokens()), **sizes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GeneratorConfig":
        d = json.loads(text)
        return cls(int(d["embed"]), int(d["hidden"]), tuple(d["words"]), tuple(d["tokens"]))


class Generator(nn.Module):
    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        e, h = config.embed, config.hidden
        self.word_embed = nn.Embedding(len(config.words), e, padding_idx=0)
        self.encoder = nn.LSTM(e, h, batch_first=True, bidirectional=True)
        self.memory = nn.Linear(2 * h, h)
        self.init_h = nn.Linear(2 * h, h)
        self.init_c = nn.Linear(2 * h, h)
        self.token_embed = nn.Embedding(len(config.tokens), e)
        self.decoder = nn.LSTM(e, h, batch_first=True)
        self.combine = nn.Linear(2 * h, h)
        self.out = nn.Linear(h, len(config.tokens))

    def encode(self, words: torch.Tensor, lengths: torch.Tensor):
        """(memory (B, L, H), word mask (B, L), decoder state) of padded word ids."""
        packed = pack_padded_sequence(self.word_embed(words), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, (h, _) = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])
        final = torch.cat([h[0], h[1]], -1)
        state = (torch.tanh(self.init_h(final))[None], self.init_c(final)[None])
        return self.memory(out), words != 0, state

    def decode(self, tokens: torch.Tensor, memory, word_mask, state):
        """Logits (B, T, V) for the next token after each of ``tokens`` (B, T)."""
        h, state = self.decoder(self.token_embed(tokens), state)
        scores = torch.bmm(h, memory.transpose(1, 2))
        scores = scores.masked_fill(~word_mask[:, None, :], float("-inf"))
        context = torch.bmm(torch.softmax(scores, -1), memory)
        return self.out(torch.tanh(self.combine(torch.cat([h, context], -1)))), state


def save(path, model: Generator, info: dict | None = None, half: bool = False) -> None:
    from safetensors.torch import save as to_bytes

    tensors = {k: (v.half() if half else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": model.config.to_json(),
            "info": json.dumps(info or {}, sort_keys=True)}
    write_atomic(path, to_bytes(tensors, metadata=meta))


def read(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a generator file; CheckpointError when it is not one."""
    from safetensors import safe_open

    where = os.fspath(path)
    if not os.path.exists(where):
        raise MissingFileError("no such program generator file", where=where,
                               hint="make one with `clevr train programs --world W --out DIR`")
    try:
        with safe_open(where, "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors has its own error for every bad header
        raise CheckpointError(f"not a readable safetensors file: {e}", where=where) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not a program generator (format {meta.get('format')!r})",
                              where=where, hint=f"expected format {FORMAT}")
    return tensors, meta


def load(path, device="cpu") -> tuple[Generator, dict]:
    """A generator and its info from a file written by :func:`save`."""
    tensors, meta = read(path)
    where = os.fspath(path)
    try:
        config = GeneratorConfig.from_json(meta["config"])
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"unreadable config: {e}", where=where) from None
    current = GeneratorConfig.default(embed=config.embed, hidden=config.hidden)
    if config != current:
        raise CheckpointError("was made for other question words or program tokens",
                              where=where, hint="retrain with `clevr train programs`")
    model = Generator(config)
    load_weights(model, tensors, where)
    return model.to(device).eval(), info


def load_weights(model: nn.Module, tensors: dict, where: str, prefix: str = "") -> None:
    own = model.state_dict()
    try:
        model.load_state_dict({k: tensors[prefix + k].to(own[k].dtype) for k in own})
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"tensors missing or misshapen: {e}", where=where) from None
