"""Training the detector from scratch with ultralytics' trainer, checkpointed as safetensors.

Ultralytics' own checkpoints are pickles (``last.pt``), so its trainer is subclassed: every
epoch it writes ``checkpoint.safetensors`` (EMA weights and optimizer state, with the epoch
and the optimizer's hyper-parameters as JSON metadata) and nothing else. A re-run with
``resume=True`` rebuilds the trainer with the same settings and, once ultralytics has set
up the model, optimizer and scheduler, loads that file and starts at the next epoch, so a
killed run loses at most one epoch. The learning-rate schedule, warm-up and the switch
from mosaic to plain images all depend only on the epoch number, so they continue exactly.

All of its files stay under ``work_dir`` (``project=`` is absolute); plots, validation
during training and ultralytics' final evaluation are off.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from clevrlang.language.errors import CheckpointError
from clevrlang.modules.engineered.detector import (
    Detector, read_safetensors, save_safetensors, state_tensors,
)
from clevrlang.modules.engineered.offline import resolve_device, set_threads, ultralytics

log = logging.getLogger(__name__)
CKPT_FORMAT = "clevrlang-yolo-train/1"
CKPT_NAME = "checkpoint.safetensors"


def _optimizer_tensors(opt) -> tuple[dict, str]:
    sd = opt.state_dict()
    tensors = {f"opt.{pid}.{name}": v.detach().cpu().contiguous().clone()
               for pid, st in sd["state"].items() for name, v in st.items()}
    return tensors, json.dumps(sd["param_groups"])


def _optimizer_state(tensors: dict, groups: str) -> dict:
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": json.loads(groups)}


def _trainer_class():
    ultralytics()
    from ultralytics.models.yolo.detect import DetectionTrainer

    class SafeTrainer(DetectionTrainer):
        """DetectionTrainer whose checkpoints are safetensors, never pickles."""

        ckpt_path: Path
        seconds_before = 0.0

        def save_model(self):
            opt_t, groups = _optimizer_tensors(self.optimizer)
            ema = {f"ema.{k}": v for k, v in state_tensors(self.ema.ema).items()}
            seconds = self.seconds_before + time.time() - self.train_time_start
            meta = {"format": CKPT_FORMAT, "epoch": self.epoch, "epochs": self.epochs,
                    "seconds": round(seconds, 1),
                    "updates": self.ema.updates, "param_groups": groups,
                    "yaml": json.dumps(self.ema.ema.yaml), "imgsz": self.args.imgsz}
            save_safetensors(self.ckpt_path, {**ema, **opt_t}, meta)
            return True

        def final_eval(self):  # ultralytics would re-validate its best.pt; there is none
            return None

    return SafeTrainer


def _warm_start(trainer, path: Path) -> None:
    """Start from a trained detector's weights (every tensor whose shape fits: a detector
    with other classes gives all but its class outputs)."""
    from clevrlang.modules.engineered.detector import FORMAT

    tensors, _ = read_safetensors(path, FORMAT)
    own = trainer.model.state_dict()
    fits = {k: v.to(own[k].dtype) for k, v in tensors.items()
            if k in own and own[k].shape == v.shape}
    if len(fits) < len(own) // 2:
        raise CheckpointError(f"only {len(fits)} of {len(own)} tensors fit this detector",
                              where=str(path), hint="initialise from a detector of the same yaml")
    trainer.model.load_state_dict(fits, strict=False)
    trainer.ema.ema.load_state_dict(fits, strict=False)
    log.info("detector: starting from %s (%d of %d tensors)", path, len(fits), len(own))


def _resume(trainer) -> None:
    """``on_pretrain_routine_end``: continue from the safetensors checkpoint, if any (else
    start from ``trainer.init_from`` when given)."""
    path = trainer.ckpt_path
    if not getattr(trainer, "resume_from_ckpt", False) or not path.is_file():
        if getattr(trainer, "init_from", None):
            _warm_start(trainer, Path(trainer.init_from))
        return
    tensors, meta = read_safetensors(path, CKPT_FORMAT)
    epoch = int(meta["epoch"])
    ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    try:
        trainer.model.load_state_dict(ema, strict=True)
        trainer.ema.ema.load_state_dict(ema, strict=True)
        trainer.optimizer.load_state_dict(_optimizer_state(tensors, meta["param_groups"]))
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"checkpoint does not fit this training run: "
                              f"{str(e).splitlines()[0]}", where=str(path),
                              hint="delete it (or train without --resume) to start over")
    trainer.ema.updates = int(meta["updates"])
    trainer.start_epoch = epoch + 1
    trainer.scheduler.last_epoch = epoch
    log.info("detector: resuming at epoch %d of %d from %s", epoch + 2, trainer.epochs, path)


def checkpoint_seconds(path: Path) -> float:
    """Training seconds (over all resumed runs) recorded in a checkpoint (0 if none)."""
    if not Path(path).is_file():
        return 0.0
    _, meta = read_safetensors(path, CKPT_FORMAT)
    return float(meta.get("seconds", 0.0))


def checkpoint_epoch(path: Path) -> int:
    """Epochs completed in a training checkpoint (0 if there is none)."""
    if not Path(path).is_file():
        return 0
    _, meta = read_safetensors(path, CKPT_FORMAT)
    return int(meta["epoch"]) + 1


def _progress_callbacks(trainer, bar) -> None:
    def on_batch(tr):
        bar.update(1)
        if tr.tloss:
            bar.set_postfix(epoch=f"{tr.epoch + 1}/{tr.epochs}",
                            loss=f"{sum(float(v) for v in tr.tloss.values()):.3f}", refresh=False)

    def on_start(tr):
        bar.reset(total=len(tr.train_loader) * tr.epochs)
        bar.update(len(tr.train_loader) * tr.start_epoch)

    trainer.add_callback("on_train_start", on_start)
    trainer.add_callback("on_train_batch_end", on_batch)


def train_detector(data_yaml: Path, work_dir: Path, names, *, cfg: str = "yolo11n.yaml",
                   epochs: int = 30, imgsz: int = 192, batch: int = 16, device: str = "auto",
                   threads: int | None = None, resume: bool = True, progress: bool = True,
                   seed: int = 0, cache: bool = True, init: Path | None = None) -> Detector:
    """Train a detector on a YOLO dataset; returns it (weights from the final EMA).

    ``init``: a ``detector.safetensors`` to start from instead of random weights (longer
    training at a new size or on more images, without starting over).
    """
    from tqdm.auto import tqdm

    ultralytics()
    work_dir = Path(work_dir).resolve()
    ckpt = work_dir / CKPT_NAME
    done = checkpoint_epoch(ckpt) if resume else 0
    if not resume:
        ckpt.unlink(missing_ok=True)
    # ultralytics keeps its label index as a pickle (``*.cache``) and loads it when present;
    # rebuilding it each run (seconds) means it never unpickles a file from an earlier run.
    for stale in Path(data_yaml).parent.glob("labels/*.cache"):
        stale.unlink()
    dev = resolve_device(device)
    set_threads(threads)
    args = dict(model=cfg, data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch,
                device="cpu" if dev == "cpu" else (dev.split(":")[1] if ":" in dev else 0),
                workers=0 if dev == "cpu" else 4, project=str(work_dir), name="ultralytics",
                exist_ok=True, pretrained=False, amp=False, plots=False, val=False,
                save=True, seed=seed, deterministic=True, verbose=False, patience=10 ** 6,
                close_mosaic=min(10, max(1, epochs // 3)), cache="ram" if cache else False,
                # a warm start needs no 3-epoch ramp: on a short run it would be all ramp
                warmup_epochs=1.0 if init else 3.0)
    if done >= epochs:
        log.info("detector: %d of %d epochs already trained", done, epochs)
        return _final(work_dir, ckpt, names, imgsz, device)
    trainer = _trainer_class()(overrides=args)
    set_threads(threads)  # ultralytics resets torch's thread count when it picks the CPU
    trainer.ckpt_path = ckpt
    trainer.seconds_before = checkpoint_seconds(ckpt) if resume else 0.0
    trainer.resume_from_ckpt = resume and done > 0
    trainer.init_from = init
    trainer.add_callback("on_pretrain_routine_end", _resume)
    with tqdm(total=epochs, desc="train detector", unit="batch", disable=not progress,
              dynamic_ncols=True) as bar:
        _progress_callbacks(trainer, bar)
        t0 = time.time()
        trainer.train()
    log.info("detector: trained to epoch %d in %.0f s (%s)", epochs, time.time() - t0,
             {k: round(float(v), 4) for k, v in (trainer.metrics or {}).items()
              if "mAP" in k or "precision" in k or "recall" in k})
    return _final(work_dir, ckpt, names, imgsz, device)


def _final(work_dir: Path, ckpt: Path, names, imgsz: int, device: str) -> Detector:
    from clevrlang.modules.engineered.detector import build_model

    tensors, meta = read_safetensors(ckpt, CKPT_FORMAT)
    model = build_model(json.loads(meta["yaml"]), len(names))
    model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    model.names = dict(enumerate(names))
    return Detector(model, tuple(names), imgsz, device)
