"""Training the module network end to end on ground-truth programs.

One loop serves one process and ``torchrun --nproc_per_node N`` (DDP: gloo on CPU, nccl on
GPU): every rank walks the same data order (a permutation per epoch drawn from
``(seed, epoch)``) and takes its slice of each global batch, so N processes compute the
same update as one. Rank 0 writes ``last.safetensors`` (weights, optimizer, RNG states and
the step) every ``save_every`` steps, atomically; ``--resume`` restarts from it at that
exact step. Weights for inference go to ``model.safetensors`` (latest) and
``best.safetensors`` (best validation accuracy), with ``config.json`` beside them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from clevrlang.devices import pick_device
from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import QUESTION_TYPES
from clevrlang.modules.learned import checkpoint as ck
from clevrlang.modules.learned.compiler import compile_batch
from clevrlang.modules.learned.model import NMN, ModelConfig
from clevrlang.modules.learned.stem import normalize
from clevrlang.modules.learned.training.data import QADataset
from clevrlang.resume import say_finished, say_nothing_to_resume

log = logging.getLogger(__name__)

#: Settings that must not change when a run is resumed (they decide every update).
EXACT = ("batch", "lr", "warmup", "clip", "seed", "aux_weight")


@dataclass
class TrainConfig:
    epochs: int = 10
    batch: int = 64  # global batch (split evenly over DDP ranks)
    lr: float = 5e-4  # Adam, as in Johnson et al.
    warmup: int = 200  # steps of linear warm-up, then cosine decay to 10 %
    clip: float = 5.0  # gradient norm clip (0: off)
    seed: int = 0
    val_every: int = 500
    save_every: int = 100
    val_limit: int = 2000  # questions used by periodic validation (all at the end)
    aux_weight: float = 0.0  # set supervision (see .auxiliary); 0: answers only, as in the paper
    degrade: dict | None = None  # codec copies trained on too (.degraded): their settings

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Dist:
    """This process's place in a torchrun job (rank 0 of 1 without torchrun)."""

    def __init__(self, device: str = "auto"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = pick_device(device, self.local_rank)
        if self.world > 1 and not torch.distributed.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def batch_inputs(data: QADataset, idx: np.ndarray, device, with_images: bool = False):
    """Normalised images (each image once), the plan and the answer targets (and the
    dataset index of each image slot). Images cross to the device as uint8 (a quarter of
    the bytes) and are normalised there; the plan is assembled from the dataset's
    :meth:`~.data.QADataset.program_table`, on the device."""
    uniq, slots = np.unique(data.image_ids[idx], return_inverse=True)
    images = normalize(torch.from_numpy(data.images[uniq]).to(device))
    plan = data.program_table().plan(idx, slots, device)
    out = images, plan, torch.from_numpy(data.answers[idx]).to(device)
    return (*out, uniq) if with_images else out


@torch.no_grad()
def evaluate(model: NMN, data: QADataset, batch: int = 128, dist: Dist | None = None,
             limit: int | None = None) -> dict:
    """Accuracy overall and per question type (questions sharded over ranks)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    n = len(data) if limit is None else min(limit, len(data))
    mine = np.arange(n)
    if dist is not None and dist.world > 1:
        mine = mine[dist.rank::dist.world]
    types = data.question_types()
    right = dict.fromkeys(QUESTION_TYPES, 0.0)
    total = dict.fromkeys(QUESTION_TYPES, 0.0)
    for start in range(0, len(mine), batch):
        idx = mine[start:start + batch]
        images, plan, targets = batch_inputs(data, idx, device)
        ok = (model(images, plan).argmax(1) == targets).cpu().numpy()
        for i, good in zip(idx, ok):
            total[types[i]] += 1
            right[types[i]] += float(good)
    keys = list(QUESTION_TYPES)
    sums = (dist.sum if dist else (lambda v: v))([right[k] for k in keys] + [total[k] for k in keys])
    right, total = dict(zip(keys, sums[:len(keys)])), dict(zip(keys, sums[len(keys):]))
    model.train(was_training)
    overall = sum(right.values()) / max(1.0, sum(total.values()))
    return {"accuracy": overall, "n": int(sum(total.values())),
            "per_type": {k: right[k] / total[k] for k in keys if total[k]}}


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


class Trainer:
    """Builds (or resumes) a model and trains it; see the module docstring."""

    def __init__(self, train_data: QADataset, val_data: QADataset | None, out,
                 model_config: ModelConfig | None = None, config: TrainConfig | None = None,
                 device: str = "auto", resume: bool = False, stem: str | None = None,
                 init: str | None = None, progress: bool = True):
        self.train_data, self.val_data = train_data, val_data
        self.out = Path(out)
        self.dist = Dist(device)
        self.progress = progress and self.dist.main
        self.cfg = config or TrainConfig()
        self.state_path = self.out / ck.STATE_FILE
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
        stored = self._stored() if resume else None
        if stored is not None:
            model_config = ck.config_of(stored, str(self.state_path))
            old = TrainConfig.from_dict(json.loads(stored["train"]))
            for name in EXACT:
                if getattr(old, name) != getattr(self.cfg, name):
                    log.warning("resume: keeping %s=%s of the interrupted run", name,
                                getattr(old, name))
                    setattr(self.cfg, name, getattr(old, name))
        if self.cfg.batch % self.dist.world:
            raise UsageError(f"--batch {self.cfg.batch} does not split over {self.dist.world} "
                             "processes", hint="use a multiple of --nproc_per_node")
        torch.manual_seed(self.cfg.seed)
        model_config = model_config or ModelConfig()
        self.targets = None
        if self.cfg.aux_weight:
            from clevrlang.modules.learned.training.auxiliary import SetTargets

            if not model_config.set_head:
                raise UsageError("aux_weight needs a model built with set_head=True")
            try:
                self.targets = SetTargets(train_data, density=model_config.count_head)
            except ValueError as e:
                raise UsageError(str(e)) from None
        elif model_config.count_head and not init:  # an --init model's head may sit idle
            raise UsageError("a count head is trained by set supervision",
                             hint="pass --aux-weight > 0")
        size = train_data.images.shape[1:3][::-1]
        if tuple(size) != tuple(model_config.image_size):
            # A global-pool network runs at any size, so this would train silently worse.
            raise UsageError(f"the training images are {size[0]}x{size[1]} but the network "
                             f"{'being resumed ' if stored else ''}sees "
                             f"{model_config.image_size[0]}x{model_config.image_size[1]}")
        self.model = NMN(model_config).to(self.dist.device)
        if init and stored is None:
            self._init_from(init, model_config)
        elif stem and stored is None:
            load_stem(self.model, stem)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr)
        self.step, self.best, self.seconds = 0, -1.0, 0.0
        if stored is not None:
            progress_, _ = ck.load_training(self.state_path, self.model, self.optimizer)
            self.step = int(progress_["step"])
            self.best = float(progress_.get("best", -1.0))
            self.seconds = float(progress_.get("seconds", 0.0))
            log.info("resumed %s at step %d", self.state_path, self.step)
        elif self.dist.main:  # a new run: no lines of a replaced one in its history
            (self.out / "history.jsonl").unlink(missing_ok=True)
        self.net = self.model
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.net = DDP(self.model, device_ids=ids, find_unused_parameters=True)

    def _init_from(self, init, model_config: ModelConfig) -> None:
        """Start from ``init``'s weights, widened (:mod:`.widen`) if this run's network has
        more channels; only a count head may be new (initialised fresh)."""
        source, _ = ck.load_model(init)
        narrow = source.config.channels
        if model_config.channels > narrow:
            from clevrlang.modules.learned.training.widen import widen

            source = widen(source, model_config.channels, seed=self.cfg.seed)
            log.info("%s widened from %d to %d channels", init, narrow, model_config.channels)
        resized = source.config.classifier_pool == "global"  # no weights per position
        same = replace(source.config, count_head=model_config.count_head,
                       image_size=model_config.image_size if resized else source.config.image_size,
                       context=model_config.context)
        if same != model_config or not set(source.config.context) <= set(model_config.context):
            raise UsageError(f"{init} holds a network of another config than this run's")
        missing, unexpected = self.model.load_state_dict(source.state_dict(), strict=False)
        if unexpected or any(not _may_start_fresh(k) for k in missing):
            raise UsageError(f"{init}: weights do not fit this run's network "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        _attend_to_marked_objects(self.model, missing)
        log.info("weights initialised from %s%s", init,
                 f" ({len(missing)} tensors new: count head, context paths)" if missing else "")

    def _stored(self) -> dict | None:
        if not self.state_path.exists():
            say_nothing_to_resume(self.out)
            return None
        return ck.training_meta(self.state_path)

    @property
    def steps_per_epoch(self) -> int:
        spe = len(self.train_data) // self.cfg.batch
        if spe == 0:
            raise UsageError(f"{len(self.train_data)} training questions are fewer than one "
                             f"batch of {self.cfg.batch}")
        return spe

    def batch_indices(self, step: int) -> np.ndarray:
        """This rank's questions of global step ``step`` (same order in every process)."""
        spe = self.steps_per_epoch
        epoch, pos = divmod(step, spe)
        order = np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.train_data))
        idx = order[pos * self.cfg.batch:(pos + 1) * self.cfg.batch]
        share = self.cfg.batch // self.dist.world
        return idx[self.dist.rank * share:(self.dist.rank + 1) * share]

    def train_step(self, step: int, total: int) -> tuple[float, float]:
        idx = self.batch_indices(step)
        for g in self.optimizer.param_groups:
            g["lr"] = lr_at(step, total, self.cfg)
        if self.targets is None:
            images, plan, targets = batch_inputs(self.train_data, idx, self.dist.device)
            logits = self.net(images, plan)
            loss = F.cross_entropy(logits, targets)
        else:
            from clevrlang.modules.learned.training.auxiliary import density_loss, set_loss

            images, plan, targets, masks, counts = self.aux_inputs(idx)
            logits, maps, density = self.net(images, plan, sets=True)
            aux = set_loss(maps, masks)
            if counts is not None:
                aux = aux + density_loss(density, counts)
            loss = F.cross_entropy(logits, targets) + self.cfg.aux_weight * aux
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip:
            torch.nn.utils.clip_grad_norm_(
                [p for p in self.model.parameters() if p.grad is not None], self.cfg.clip)
        self.optimizer.step()
        acc = (logits.argmax(1) == targets).float().mean()
        return float(loss.detach()), float(acc)

    def aux_inputs(self, idx: np.ndarray):
        """Images, plan, answers, and the set and count maps (None without a count head)
        of questions ``idx``, everything on this process's device."""
        data, device = self.train_data, self.dist.device
        uniq, slots = np.unique(data.image_ids[idx], return_inverse=True)
        images = normalize(torch.from_numpy(data.images[uniq]).to(device))
        plan, masks, counts = self.targets.batch(idx, slots, uniq, device)
        return images, plan, torch.from_numpy(data.answers[idx]).to(device), masks, counts

    def run(self, stop_after: int | None = None) -> dict:
        """Train to the end (or, for tests, return right after ``stop_after`` steps as if
        killed). Returns the last validation result and progress."""
        from tqdm import tqdm

        total = self.steps_per_epoch * self.cfg.epochs
        bar = tqdm(total=total, initial=self.step, desc="train learned", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        if self.step >= total:
            say_finished(self.out, f"step {self.step} of {total}")
        ema_loss = ema_acc = None
        val: dict = {}
        self.model.train()
        done = 0
        while self.step < total:
            t0 = time.perf_counter()
            loss, acc = self.train_step(self.step, total)
            self.seconds += time.perf_counter() - t0
            self.step += 1
            done += 1
            ema_loss = loss if ema_loss is None else 0.98 * ema_loss + 0.02 * loss
            ema_acc = acc if ema_acc is None else 0.98 * ema_acc + 0.02 * acc
            if self.step % self.cfg.val_every == 0 or self.step == total:
                val = self.validate(final=self.step == total)
            # After validating, so the bar shows the accuracy just logged (no val=nan first).
            shown = {"val": f"{val['accuracy']:.3f}"} if "accuracy" in val else {}
            bar.set_postfix(loss=f"{ema_loss:.3f}", acc=f"{ema_acc:.3f}", **shown, refresh=False)
            bar.update(1)
            if self.step % self.cfg.save_every == 0 or self.step == total:
                self.save()
            if stop_after is not None and done >= stop_after:
                break
        bar.close()
        return {"step": self.step, "seconds": self.seconds, "validation": val}

    def validate(self, final: bool = False) -> dict:
        if self.val_data is None or not len(self.val_data):
            return {}
        limit = None if final else self.cfg.val_limit
        val = evaluate(self.model, self.val_data, 2 * self.cfg.batch, self.dist, limit)
        if self.dist.main:
            log.info("step %d: validation accuracy %.4f on %d questions", self.step,
                     val["accuracy"], val["n"])
            info = self.info(val)
            with open(self.out / "history.jsonl", "a") as f:
                f.write(json.dumps(info) + "\n")
            if val["accuracy"] > self.best:
                self.best = val["accuracy"]
                ck.save_model(self.out / "best.safetensors", self.model, self.info(val))
        return val

    def info(self, val: dict | None = None) -> dict:
        return {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                "seconds": round(self.seconds, 1), "world": self.dist.world,
                "train_questions": len(self.train_data), "validation": val or {},
                "best": self.best}

    def save(self) -> None:
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            progress = {"step": self.step, "best": self.best, "seconds": self.seconds}
            ck.save_training(self.state_path, self.model, self.optimizer, progress,
                             asdict(self.cfg))
            ck.save_model(self.out / "model.safetensors", self.model, self.info())
            ck.write_config_json(self.out / "config.json", self.model, self.info())
        self.dist.barrier()


def _may_start_fresh(name: str) -> bool:
    """Whether an --init network may lack tensor ``name``: the layers that are added at zero
    (a count head, a module's context path) and so change nothing it computes."""
    return name.startswith("density.") or ".block.attend." in name or ".block.context." in name


def _attend_to_marked_objects(model: NMN, missing) -> None:
    """New context paths attend where the trained set head marks the input's objects.

    From zero, the attention would start as a plain mean over the scene and learn nothing
    until the context layer (also zero) has grown; the set head already finds the one
    object a ``unique`` output marks, which is what ``same_color`` must summarise.
    """
    if not hasattr(model, "sets"):
        return
    with torch.no_grad():
        for token, module in model.mods.items():
            if f"mods.{token}.block.attend.weight" in missing:
                module.block.attend.weight.copy_(model.sets.weight)
                module.block.attend.bias.copy_(model.sets.bias)


def load_stem(model: NMN, path) -> None:
    """Initialise the stem from a pretraining checkpoint (:mod:`.pretrain`)."""
    tensors, meta = ck.read_tensors(path, "clevrlang-stem/1")
    ck.load_state(model.stem, tensors, str(path), "stem.")
    log.info("stem initialised from %s", path)
