"""Grammar-constrained decoding: batched beam search, sampling, and training masks.

At every step each hypothesis's :class:`~clevrlang.asking.grammar.Stack` says which tokens
keep its program well typed and finishable; the others get probability zero. A beam of
``k`` per question is one batch of ``B * k`` rows, so a thousand questions decode as one
batched LSTM step per token, whatever ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from clevrlang.asking.grammar import (
    MAX_TOKENS, Stack, accepts_table, expectations, program_tokens, token_costs, token_ids,
)
from clevrlang.asking.tokens import END, PAD, START

NEG = float("-inf")


@cache
def _tables():
    """Rows of allowed tokens per expectation, plus a DONE row (only END) and an ANY row
    (everything: padding positions in training, whose loss is ignored)."""
    ids = token_ids()
    acc = torch.tensor(accepts_table(), dtype=torch.bool)
    done = torch.zeros(1, acc.shape[1], dtype=torch.bool)
    done[0, ids[END]] = True
    anything = torch.ones(1, acc.shape[1], dtype=torch.bool)
    rows = torch.cat([acc, done, anything])
    return rows, torch.tensor(token_costs()), len(expectations()), len(expectations()) + 1


def _row(stack: Stack | None) -> tuple[int, int]:
    _, _, done_row, any_row = _tables()
    if stack is None:
        return any_row, MAX_TOKENS
    if stack.done:
        return done_row, MAX_TOKENS
    return stack.top(), stack.slack()


def allowed(stacks: list[Stack | None]) -> torch.Tensor:
    """(N, V) bool: the tokens each stack allows next (None: anything)."""
    rows, costs, _, _ = _tables()
    r, s = zip(*map(_row, stacks))
    return rows[torch.tensor(r)] & (costs[None, :] <= torch.tensor(s)[:, None])


def training_masks(targets: list[list[int]], length: int) -> torch.Tensor:
    """(B, length, V): what decoding would allow before each target token (END included)."""
    out = []
    for seq in targets:
        stack, stacks = Stack(), []
        for t in seq:
            stacks.append(stack)
            if t != token_ids()[END]:
                stack = stack.push(t)
        stacks += [None] * (length - len(stacks))
        out.append(allowed(stacks))
    return torch.stack(out)


def pad(seqs: list[list[int]], value: int = 0) -> torch.Tensor:
    width = max(map(len, seqs))
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


@dataclass
class Candidate:
    tokens: list[int]
    score: float  # log-probability under the constrained distribution


@torch.no_grad()
def beam_search(model, word_ids: list[list[int]], k: int = 1, sample: bool = False,
                generator: torch.Generator | None = None) -> list[list[Candidate]]:
    """The ``k`` best programs per question, best first; ``sample`` (with ``k=1``) draws one
    from the model's distribution instead (REINFORCE)."""
    if sample and k != 1:
        raise ValueError("sampling draws one program per question: k must be 1")
    if k == 1:
        return _one_each(model, word_ids, sample, generator)
    device = next(model.parameters()).device
    ids = token_ids()
    V = len(program_tokens())
    B = len(word_ids)
    words = pad(word_ids).to(device)
    lengths = torch.tensor([len(w) for w in word_ids])
    memory, word_mask, (h, c) = model.encode(words, lengths)
    rep = lambda x, d=0: x.repeat_interleave(k, d)  # noqa: E731
    memory, word_mask, state = rep(memory), rep(word_mask), (rep(h, 1), rep(c, 1))
    scores = torch.zeros(B, k, device=device)
    scores[:, 1:] = NEG  # every beam starts as the same empty program
    stacks: list[Stack | None] = [Stack() for _ in range(B * k)]
    finished = torch.zeros(B * k, dtype=torch.bool, device=device)
    last = torch.full((B * k, 1), ids[START], dtype=torch.long, device=device)
    history = torch.zeros(B * k, 0, dtype=torch.long, device=device)
    pad_row = torch.full((V,), NEG, device=device)
    pad_row[ids[PAD]] = 0.0
    for _ in range(MAX_TOKENS + 1):
        logits, state = model.decode(last, memory, word_mask, state)
        mask = allowed([s if not s or not f else None for s, f in zip(stacks, finished.tolist())])
        logp = torch.log_softmax(logits[:, 0].masked_fill(~mask.to(device), NEG), -1)
        logp = torch.where(finished[:, None], pad_row, logp)
        top, idx = (scores.view(-1, 1) + logp).view(B, k * V).topk(k, -1)
        rows = (torch.arange(B, device=device)[:, None] * k + idx // V).view(-1)
        tok = (idx % V).view(-1)
        scores = top
        state = (state[0][:, rows], state[1][:, rows])
        history = history[rows]
        finished = finished[rows]
        history = torch.cat([history, tok[:, None]], 1)
        row_list, tok_list = rows.tolist(), tok.tolist()
        new_stacks = []
        for r, t in zip(row_list, tok_list):
            s = stacks[r]
            new_stacks.append(s.push(t) if s is not None and not s.done and t not in
                              (ids[END], ids[PAD]) else s)
        stacks = new_stacks
        finished = finished | (tok == ids[END])
        last = tok[:, None]
        if bool(finished.all()):
            break
    out = []
    hist, sc = history.tolist(), scores.view(-1).tolist()
    for b in range(B):
        cands = []
        for j in range(b * k, b * k + k):
            if sc[j] == NEG:
                continue
            toks = [t for t in hist[j] if t not in (ids[END], ids[PAD])]
            cands.append(Candidate(toks, sc[j]))
        out.append(cands)
    return out


@torch.no_grad()
def _one_each(model, word_ids, sample, generator) -> list[list[Candidate]]:
    """Greedy (or sampled) decoding; a finished program leaves the batch, so the batch
    shrinks to the longest programs instead of running every row to the limit."""
    device = next(model.parameters()).device
    ids = token_ids()
    B = len(word_ids)
    memory, word_mask, state = model.encode(pad(word_ids).to(device),
                                            torch.tensor([len(w) for w in word_ids]))
    active = list(range(B))  # batch row -> question
    stacks = [Stack() for _ in range(B)]
    tokens: list[list[int]] = [[] for _ in range(B)]
    scores = [0.0] * B
    last = torch.full((B, 1), ids[START], dtype=torch.long, device=device)
    for _ in range(MAX_TOKENS + 1):
        logits, state = model.decode(last, memory, word_mask, state)
        mask = allowed([stacks[q] for q in active]).to(device)
        logp = torch.log_softmax(logits[:, 0].masked_fill(~mask, NEG), -1)
        if sample:
            tok = torch.multinomial(logp.exp(), 1, generator=generator)[:, 0]
        else:
            tok = logp.argmax(-1)
        picked = logp.gather(1, tok[:, None])[:, 0].tolist()
        keep = []
        for row, (q, t, lp) in enumerate(zip(active, tok.tolist(), picked)):
            scores[q] += lp
            if t == ids[END]:
                continue
            tokens[q].append(t)
            stacks[q] = stacks[q].push(t)
            keep.append(row)
        if not keep:
            break
        if len(keep) < len(active):
            rows = torch.tensor(keep, device=device)
            memory, word_mask = memory[rows], word_mask[rows]
            state = (state[0][:, rows], state[1][:, rows])
            tok = tok[rows]
            active = [active[r] for r in keep]
        last = tok[:, None]
    return [[Candidate(tokens[q], scores[q])] for q in range(B)]
