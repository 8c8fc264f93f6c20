"""``clevr train programs``: supervised on a world's (question, program) pairs, then REINFORCE.

Supervised steps use the first ``programs`` annotated questions (all by default); REINFORCE
steps (Johnson et al. 2017's semi-supervised setting) sample programs for the remaining
questions, run them with the symbolic back end on the world's scene graphs, and reward a
right answer. The whole run -- weights, optimizer, RNG, step -- is one safetensors state
file replaced atomically every ``save_every`` steps, which ``--resume`` continues exactly.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from clevrlang.asking import model as M
from clevrlang.asking.decode import beam_search, pad, training_masks
from clevrlang.asking.grammar import program_of, token_ids, tokens_of
from clevrlang.asking.tokens import END, encode
from clevrlang.devices import pick_device
from clevrlang.language.errors import CheckpointError, UsageError
from clevrlang.resume import resume_or_start, say_finished

log = logging.getLogger("clevrlang.train")
STATE_FILE = "last.safetensors"
MODEL_FILE = "model.safetensors"
SUPERVISED_FILE = "supervised.safetensors"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000  # supervised steps
    reinforce: int = 0  # REINFORCE steps after them
    programs: int | None = None  # annotated programs used (first N questions)
    batch: int = 64
    lr: float = 2e-3
    reinforce_lr: float = 1e-4
    embed: int = 64
    hidden: int = 128
    seed: int = 0
    save_every: int = 200


@dataclass
class Data:
    words: list[list[int]]
    targets: list[list[int] | None]  # program token ids + END; None past --programs
    answers: list[str]
    scenes: list  # the scene of each question


def load_data(world_dir, split: str, programs: int | None) -> Data:
    from clevrlang.datafiles import load_questions, load_scenes, scene_for
    from clevrlang.world.layout import world_files

    files = world_files(world_dir, split)
    if files.questions is None or files.scenes is None:
        raise UsageError(f"{world_dir}: split {files.split} has no questions and scenes")
    questions = load_questions(files.questions)
    scenes = load_scenes(files.scenes)
    ids, end = token_ids(), token_ids()[END]
    data = Data([], [], [], [])
    for i, q in enumerate(questions):
        data.words.append(encode(q.text, unknown=True))
        annotated = programs is None or i < programs
        data.targets.append([ids[t] for t in tokens_of(q.program.node)] + [end]
                            if annotated else None)
        data.answers.append(q.answer)
        data.scenes.append(scene_for(q, scenes))
    return data


def supervised_loss(model, words, targets) -> torch.Tensor:
    """Mean token cross-entropy under the type mask (teacher forcing)."""
    device = next(model.parameters()).device
    start = token_ids()["<s>"]
    inputs = pad([[start] + t[:-1] for t in targets]).to(device)
    gold = pad(targets, value=-100).to(device)
    mask = training_masks(targets, inputs.shape[1]).to(device)
    memory, word_mask, state = model.encode(pad(words).to(device),
                                            torch.tensor([len(w) for w in words]))
    logits, _ = model.decode(inputs, memory, word_mask, state)
    logits = logits.masked_fill(~mask, float("-inf"))
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), gold.flatten(),
                                             ignore_index=-100)


def sequence_logp(model, words, targets) -> torch.Tensor:
    """Per sequence, the log-probability of ``targets`` under the type-masked model."""
    device = next(model.parameters()).device
    start = token_ids()["<s>"]
    inputs = pad([[start] + t[:-1] for t in targets]).to(device)
    gold = pad(targets, value=0).to(device)
    valid = pad([[1] * len(t) for t in targets]).to(device).bool()
    mask = training_masks(targets, inputs.shape[1]).to(device)
    memory, word_mask, state = model.encode(pad(words).to(device),
                                            torch.tensor([len(w) for w in words]))
    logits, _ = model.decode(inputs, memory, word_mask, state)
    logp = torch.log_softmax(logits.masked_fill(~mask, float("-inf")), -1)
    picked = logp.gather(2, gold[..., None])[..., 0]
    return torch.where(valid, picked, torch.zeros_like(picked)).sum(1)


def rewards(samples: list[list[int]], answers: list[str], scenes: list) -> list[float]:
    """1 for a sampled program whose symbolic answer is right, else 0."""
    from clevrlang.backends import get_backend

    programs = [program_of(s).node for s in samples]
    got = get_backend("symbolic").answer(programs, scenes, errors="return")
    return [1.0 if isinstance(g, str) and g == a else 0.0 for g, a in zip(got, answers)]


class Trainer:
    def __init__(self, data: Data, out, cfg: TrainConfig, device="auto", progress=True):
        self.data, self.out, self.cfg, self.progress = data, Path(out), cfg, progress
        self.device = pick_device(device)
        torch.manual_seed(cfg.seed)
        self.model = M.Generator(M.GeneratorConfig.default(embed=cfg.embed, hidden=cfg.hidden))
        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.step = 0
        self.baseline = 0.0
        self.seconds = 0.0
        self.rng = random.Random(cfg.seed)
        self.supervised = [i for i, t in enumerate(data.targets) if t is not None]
        self.unlabelled = [i for i, t in enumerate(data.targets) if t is None] or \
            list(range(len(data.targets)))
        if not self.supervised and cfg.steps:
            raise UsageError("--programs 0 leaves no annotated program for supervised steps")

    @property
    def total(self) -> int:
        return self.cfg.steps + self.cfg.reinforce

    def batch_of(self, pool: list[int]) -> list[int]:
        # Step-seeded, so a resumed run draws the very batches an unbroken one would.
        return random.Random(self.cfg.seed * 1_000_003 + self.step).sample(
            pool, min(self.cfg.batch, len(pool)))

    def train_step(self) -> dict:
        self.model.train()
        if self.step < self.cfg.steps:
            # Linear decay to a tenth: the last steps polish rare templates.
            for g in self.optimizer.param_groups:
                g["lr"] = self.cfg.lr * (1 - 0.9 * self.step / self.cfg.steps)
            idx = self.batch_of(self.supervised)
            loss = supervised_loss(self.model, [self.data.words[i] for i in idx],
                                   [self.data.targets[i] for i in idx])
            info = {"loss": float(loss.detach())}
        else:
            if self.step == self.cfg.steps:
                for g in self.optimizer.param_groups:
                    g["lr"] = self.cfg.reinforce_lr
            idx = self.batch_of(self.unlabelled)
            words = [self.data.words[i] for i in idx]
            gen = torch.Generator().manual_seed(self.cfg.seed * 7919 + self.step)
            self.model.eval()
            samples = [c[0].tokens for c in beam_search(self.model, words, sample=True,
                                                        generator=gen)]
            self.model.train()
            r = torch.tensor(rewards(samples, [self.data.answers[i] for i in idx],
                                     [self.data.scenes[i] for i in idx]))
            end = token_ids()[END]
            logp = sequence_logp(self.model, words, [s + [end] for s in samples])
            advantage = (r - self.baseline).to(logp.device)
            loss = -(advantage * logp).mean()
            self.baseline = 0.9 * self.baseline + 0.1 * float(r.mean())
            info = {"reward": float(r.mean())}
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()
        return info

    def run(self, stop_after: int | None = None) -> dict:
        from tqdm import tqdm

        bar = tqdm(total=self.total, initial=self.step, desc="train programs", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        if self.step >= self.total:
            say_finished(self.out, f"step {self.step} of {self.total}")
        ema: dict = {}
        done = 0
        while self.step < self.total:
            t0 = time.perf_counter()
            info = self.train_step()
            self.seconds += time.perf_counter() - t0
            self.step += 1
            done += 1
            for k, v in info.items():
                ema[k] = v if k not in ema else 0.98 * ema[k] + 0.02 * v
            bar.set_postfix({k: f"{v:.4f}" for k, v in ema.items()}, refresh=False)
            bar.update(1)
            if self.step == self.cfg.steps and self.cfg.reinforce:
                # The supervised-only model, for the papers' "without REINFORCE" rows.
                M.save(self.out / SUPERVISED_FILE, self.model, info={"step": self.step})
            if self.step % self.cfg.save_every == 0 or self.step == self.total:
                self.save()
                log.info("step %d: %s", self.step, json.dumps({k: round(v, 5) for k, v in ema.items()}))
            if stop_after is not None and done >= stop_after:
                break
        bar.close()
        return {"step": self.step, **ema, "seconds": round(self.seconds, 1)}

    # -- state ------------------------------------------------------------------------------
    def save(self) -> None:
        from safetensors.torch import save as to_bytes

        from clevrlang.atomic import write_atomic

        tensors = {f"model.{k}": v.detach().cpu() for k, v in self.model.state_dict().items()}
        scalars = {}
        for idx, state in self.optimizer.state_dict()["state"].items():
            for name, value in state.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{idx}.{name}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{idx}.{name}"] = value
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {"format": M.FORMAT + "-train", "config": self.model.config.to_json(),
                "train": json.dumps(asdict(self.cfg), sort_keys=True),
                "progress": json.dumps({"step": self.step, "baseline": self.baseline,
                                        "seconds": self.seconds,
                                        "lr": self.optimizer.param_groups[0]["lr"]}),
                "optim": json.dumps(scalars)}
        write_atomic(self.out / STATE_FILE, to_bytes(tensors, metadata=meta))
        M.save(self.out / MODEL_FILE, self.model,
               info={"step": self.step, "train": asdict(self.cfg),
                     "seconds": round(self.seconds, 1)})

    def load(self) -> None:
        from safetensors import safe_open

        where = os.fspath(self.out / STATE_FILE)
        try:
            with safe_open(where, "pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            stored = TrainConfig(**json.loads(meta["train"]))
            progress = json.loads(meta["progress"])
            scalars = json.loads(meta["optim"])
        except Exception as e:  # safetensors' own errors, missing keys, bad JSON
            raise CheckpointError(f"unreadable training state: {e}", where=where) from None
        if stored != self.cfg:
            raise UsageError(f"{self.out} holds a run with other options",
                             hint="resume with the same options, or pass --force")
        M.load_weights(self.model, tensors, where, "model.")
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v.to(self.device)
        for k, v in scalars.items():
            idx, name = k.split(".", 1)
            state.setdefault(int(idx), {})[name] = v
        groups = self.optimizer.state_dict()["param_groups"]
        for g in groups:
            g["lr"] = progress["lr"]
        self.optimizer.load_state_dict({"state": state, "param_groups": groups})
        torch.set_rng_state(tensors["rng.torch"])
        self.step, self.baseline = progress["step"], progress["baseline"]
        self.seconds = progress["seconds"]


def train_world(world_dir, out, cfg: TrainConfig, split: str = "train", device="auto",
                resume=False, force=False, progress=True, stop_after=None) -> dict:
    """Train (or resume) a program generator on a world's split; writes OUT/model.safetensors."""
    out = Path(out)
    resuming = resume_or_start(out, out / STATE_FILE, resume=resume, force=force)
    data = load_data(world_dir, split, cfg.programs)
    trainer = Trainer(data, out, cfg, device, progress)
    if resuming:
        trainer.load()
    out.mkdir(parents=True, exist_ok=True)
    return trainer.run(stop_after)
