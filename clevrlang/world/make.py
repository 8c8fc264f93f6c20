"""Making a world (``clevr world make``); joining shards is :mod:`.merge`.

The images of a split are made in blocks of 250 (CLEVR's question generator resets its
answer-balancing counts every 250 scenes, so a block is the largest unit whose questions do
not depend on any other). A block renders each image and mask (each written atomically, and
skipped on resume when both exist), asks its questions with a fresh balance state, and saves
its scenes and questions as one part file under ``OUT/.parts/<split>/``. When every block is
done, the released-format scenes and questions files are assembled from the parts, and the
parts are removed: the scenes file's ``info.settings`` then records what the split was made
with, so a re-run is a no-op and a run with other options is refused.

Every image draws from generators seeded by ``(seed, image index)``, so the result does not
depend on how the work was cut: killed and resumed, split into shards (``--shard K/N`` makes
blocks K, K+N, ...) and merged, or spread over worker processes, it is byte for byte the
data set of one uninterrupted run.

>>> spec = WorldSpec(images=600, questions_per_image=0)
>>> spec.n_blocks, spec.block_images(2), Shard.parse("1/2").blocks(spec)
(3, range(500, 600), [1])
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from clevrlang.datafiles import read_json
from clevrlang.language.errors import DataError, UsageError
from clevrlang.world import layout
from clevrlang.world.render import RenderResult, annotate_scene, render
from clevrlang.world.scenes import make_scene

log = logging.getLogger(__name__)

BLOCK_SIZE = 250  # CLEVR's --reset_counts_every
PARTS_FORMAT = "clevrlang-world-parts/1"
_OPTION = {"images": "--images", "split": "--split", "questions_per_image":
           "--questions-per-image", "cogent": "--cogent", "width": "--size", "height": "--size",
           "seed": "--seed", "ss": "--ss", "block_size": "--block-size"}


@dataclass(frozen=True)
class WorldSpec:
    """Everything that decides a split's content (and nothing that does not, like workers)."""

    images: int
    split: str = "train"
    questions_per_image: int = 10
    cogent: str | None = None
    width: int = 320
    height: int = 240
    seed: int = 0
    ss: int = 1
    block_size: int = BLOCK_SIZE

    def __post_init__(self):
        checks = [(self.images >= 1, "--images must be at least 1"),
                  (self.questions_per_image >= 0, "--questions-per-image must be >= 0"),
                  (self.cogent in (None, "A", "B"), "--cogent must be A or B"),
                  (self.width >= 16 and self.height >= 16, "--size must be at least 16x16"),
                  (self.seed >= 0, "--seed must be >= 0"),
                  (self.ss in (1, 2, 3, 4), "--ss must be 1, 2, 3 or 4"),
                  (self.block_size >= 1, "--block-size must be at least 1"),
                  (bool(re.fullmatch(r"[A-Za-z0-9]+", self.split)),
                   f"--split must be letters and digits, not {self.split!r}")]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    @property
    def n_blocks(self) -> int:
        return -(-self.images // self.block_size)

    def block_images(self, block: int) -> range:
        start = block * self.block_size
        return range(start, min(start + self.block_size, self.images))


def cogent_split(split: str, cogent: str | None) -> tuple[str, str | None]:
    """CoGenT's split names: ``train`` + A -> ``trainA``; ``valB`` alone means condition B."""
    m = re.fullmatch(r"(train|val|test)([AB])", split)
    if m:
        if cogent not in (None, m.group(2)):
            raise UsageError(f"--split {split} is CoGenT condition {m.group(2)}, "
                             f"but --cogent says {cogent}")
        return split, m.group(2)
    return (split + cogent, cogent) if cogent else (split, None)


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` (0-based) of ``n``: blocks k, k + n, k + 2n, ..."""

    k: int = 0
    n: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
            raise UsageError(f"--shard must be K/N with 0 <= K < N, not {text!r}",
                             hint="shards count from 0: --shard 0/4 ... --shard 3/4")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def whole(self) -> bool:
        return self.n == 1

    def blocks(self, spec: WorldSpec) -> list[int]:
        return list(range(self.k, spec.n_blocks, self.n))


class Parts:
    """``OUT/.parts/<split>/``: the manifest and one finished part file per block."""

    def __init__(self, out: Path, split: str):
        self.out, self.split = Path(out), split
        self.dir = self.out / ".parts" / split

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def path(self, block: int) -> Path:
        return self.dir / f"block_{block:06d}.json"

    def done(self, block: int) -> bool:
        return self.path(block).is_file()

    def read(self, block: int) -> dict:
        return read_json(self.path(block))

    def manifest(self) -> dict | None:
        return read_json(self.manifest_path) if self.manifest_path.is_file() else None

    def finished(self) -> dict | None:
        """The manifest of a split assembled earlier (its parts removed), from its scenes
        file's ``info.settings``; None when there is none."""
        if self.manifest_path.is_file():
            return None
        settings = assembled_settings(self.out / layout.scenes_relpath(self.split))
        return None if settings is None else {"format": PARTS_FORMAT, "spec": settings,
                                              "shard": None}

    def remove(self) -> None:
        """Drop the parts of an assembled split (and ``.parts`` once no split has any)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            self.dir.parent.rmdir()
        except OSError:  # another split's parts (or a shard's) are still there
            pass

    def claim(self, spec: WorldSpec, shard: Shard) -> None:
        """Record what this folder holds, or refuse to mix it with a run of other options."""
        want = {"format": PARTS_FORMAT, "spec": asdict(spec),
                "shard": None if shard.whole else [shard.k, shard.n]}
        have = self.manifest() or self.finished()
        if have is None:
            layout.write_json(self.manifest_path, want)
        elif have != want:
            raise UsageError(f"{self.out} already holds split {self.split!r} made with other "
                             f"options ({option_differences(have, want)})",
                             hint="re-run with the same options to resume, or use a new folder")

    def folders(self) -> list[Path]:
        """Every folder this split writes into (for sweeping temporary files)."""
        return [self.dir, self.out / "images" / self.split, self.out / "masks" / self.split,
                self.out / "scenes", self.out / "questions"]


def assembled_settings(scenes_file: Path) -> dict | None:
    """``info.settings`` of a scenes file this module wrote, read from the file's head (the
    info comes first, so a 70K-scene file is not parsed); None for any other file."""
    prefix = '{"info": '
    try:
        with open(scenes_file, "rb") as f:
            head = f.read(1 << 16).decode("utf-8", "replace")
        info, _ = json.JSONDecoder().raw_decode(head, len(prefix))
    except (OSError, ValueError):
        return None
    settings = info.get("settings") if head.startswith(prefix) and isinstance(info, dict) else None
    return settings if isinstance(settings, dict) else None


def option_differences(have: dict, want: dict) -> str:
    old, new = have.get("spec") or {}, want["spec"]
    out = [f"{_OPTION.get(k, k)} was {old.get(k)!r}, now {new[k]!r}"
           for k in new if old.get(k) != new[k]]
    if have.get("shard") != want["shard"]:
        out.append(f"--shard was {have.get('shard')}, now {want['shard']}")
    return "; ".join(out) or f"format {have.get('format')!r}"


# ------------------------------------------------------------------------------- one block

@lru_cache(maxsize=4)
def _question_generator(seed: int):
    try:
        from clevrlang.world import questions
    except ModuleNotFoundError as e:
        if e.name != "clevrlang.world.questions":
            raise
        raise UsageError("the question generator is not installed in this checkout",
                         hint="use --questions-per-image 0") from None
    return questions, questions.QuestionGenerator(seed)


# Released CLEVR v1.0 lists a question's keys in this order.
_QUESTION_KEYS = ("image_index", "program", "question_index", "image_filename",
                  "question_family_index", "split", "answer", "question")


def _released_question(q: dict, scene: dict) -> dict:
    fixed = {"image_index": scene["image_index"], "question_index": None,
             "image_filename": scene["image_filename"], "split": scene["split"]}
    out = {k: fixed[k] if k in fixed else q.get(k) for k in _QUESTION_KEYS}
    out.update((k, v) for k, v in q.items() if k not in out)
    return out


def _ask(spec: WorldSpec, scene: dict, balance) -> list[dict]:
    """The scene's questions; their random stream is the generator's, per (seed, image)."""
    _, generator = _question_generator(spec.seed)
    asked = generator.generate(scene, spec.questions_per_image, balance)
    return [_released_question(q, scene) for q in asked]


def _scene(out: Path, spec: WorldSpec, index: int) -> dict:
    """Image ``index``'s scene, annotated; its image and mask written unless both exist."""
    scene = make_scene(spec.seed, index, spec.split, spec.width, spec.height, spec.cogent)
    image = out / layout.image_relpath(spec.split, index)
    mask = out / layout.mask_relpath(spec.split, index)
    if image.is_file() and mask.is_file():  # finished before a kill: boxes from the mask
        m = layout.read_png(mask)
        result = RenderResult(None, m, layout.boxes_from_mask(m, len(scene["objects"])), None)
    else:
        result = render(scene, spec.width, spec.height, ss=spec.ss)
        layout.write_png(mask, result.mask)
        layout.write_png(image, result.image)  # last: an existing image means both are done
    annotate_scene(scene, result, spec.width, spec.height)
    scene["mask_filename"] = layout.image_filename(spec.split, index)
    return scene


def make_block(out: str | os.PathLike, spec: WorldSpec, block: int,
               tick: Callable[[int], object] = lambda n: None) -> None:
    """Make block ``block`` of a split (a no-op when its part file exists)."""
    out, parts = Path(out), Parts(Path(out), spec.split)
    if parts.done(block):
        return
    balance = None
    if spec.questions_per_image:  # CLEVR's answer counts start afresh in every block
        balance = _question_generator(spec.seed)[0].BalanceState()
    scenes, questions = [], []
    for index in spec.block_images(block):
        scene = _scene(out, spec, index)
        scenes.append(scene)
        if balance is not None:
            questions.extend(_ask(spec, scene, balance))
        tick(1)
    r = spec.block_images(block)
    layout.write_json(parts.path(block), {"block": block, "images": [r.start, r.stop],
                                          "scenes": scenes, "questions": questions})


# -------------------------------------------------------------------------- whole runs

@dataclass
class MakeResult:
    out: Path
    split: str
    images: int  # images of this run's blocks
    resumed_images: int  # of which were done before this run started
    questions: int | None  # in the assembled file (None: a shard, or finished before)
    seconds: float
    finished: bool = False  # the split was made before: nothing was done


def world_info(spec: WorldSpec) -> dict:
    """The ``info`` of our scenes and questions files (CLEVR's keys, plus our settings)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        generator = f"clevrlang {version('clevrlang')}"
    except PackageNotFoundError:  # a source checkout that is not installed
        generator = "clevrlang"
    return {"split": spec.split, "version": "1.0", "generator": generator,
            "settings": asdict(spec)}


def assemble(out: str | os.PathLike, spec: WorldSpec) -> int:
    """Write the split's scenes and questions files from its parts; the question count."""
    out, parts = Path(out), Parts(Path(out), spec.split)
    missing = [b for b in range(spec.n_blocks) if not parts.done(b)]
    if missing:
        raise DataError(f"split {spec.split!r} lacks {len(missing)} of {spec.n_blocks} blocks "
                        f"(first: {missing[0]})", where=str(parts.dir))
    info = world_info(spec)
    layout.write_document(out / layout.scenes_relpath(spec.split), info, "scenes",
                          (s for b in range(spec.n_blocks) for s in parts.read(b)["scenes"]))
    if not spec.questions_per_image:
        return 0
    count = 0

    def numbered():
        nonlocal count
        for b in range(spec.n_blocks):
            for q in parts.read(b)["questions"]:
                q["question_index"] = count
                count += 1
                yield q
    layout.write_document(out / layout.questions_relpath(spec.split), info, "questions",
                          numbered())
    return count


def progress_bar(total: int, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="img", disable=not enabled,
                dynamic_ncols=True)


def make_world(out: str | os.PathLike, spec: WorldSpec, *, shard: Shard = Shard(),
               workers: int = 1, progress: bool = True) -> MakeResult:
    """Make (or resume) one split of a world in ``out``; see the module docstring."""
    start, out = time.perf_counter(), Path(out)
    parts = Parts(out, spec.split)
    _refuse_shared_seed(out, spec)
    if parts.finished() is not None:
        parts.claim(spec, shard)  # refuses other options; the same ones have nothing to do
        return MakeResult(out, spec.split, spec.images, spec.images, None,
                          time.perf_counter() - start, finished=True)
    parts.dir.mkdir(parents=True, exist_ok=True)
    parts.claim(spec, shard)
    swept = layout.remove_temp_files(parts.folders())
    if swept:
        log.info("removed %d temporary files left by an interrupted run", swept)
    if spec.questions_per_image:
        _question_generator(spec.seed)  # fail before any work if it is missing
    blocks = shard.blocks(spec)
    todo = [b for b in blocks if not parts.done(b)]
    total = sum(len(spec.block_images(b)) for b in blocks)
    resumed = total - sum(len(spec.block_images(b)) for b in todo)
    with progress_bar(total, resumed, f"{spec.split}", progress) as bar:
        if workers > 1 and len(todo) > 1:
            _run_pool(out, spec, todo, workers, bar.update)
        else:
            for b in todo:
                make_block(out, spec, b, bar.update)
    questions = None
    if shard.whole:
        questions = assemble(out, spec)
        parts.remove()
    return MakeResult(out, spec.split, total, resumed, questions, time.perf_counter() - start)


def _refuse_shared_seed(out: Path, spec: WorldSpec) -> None:
    """Scenes are drawn from (seed, index) alone, so two splits of one seed are the same
    images: a 'held-out' split made so would be the training split again."""
    manifests = sorted((out / ".parts").glob("*/manifest.json"))
    made = [read_json(m).get("spec") or {} for m in manifests]
    made += [s for f in sorted((out / "scenes").glob("CLEVR_*_scenes.json"))  # finished ones
             if (s := assembled_settings(f)) is not None]
    for other in made:
        if other.get("split") != spec.split and other.get("seed") == spec.seed:
            raise UsageError(
                f"{out} already holds split {other.get('split')!r} made with --seed "
                f"{spec.seed}; split {spec.split!r} with the same seed would repeat its scenes",
                hint=f"give each split its own seed, e.g. --seed {spec.seed + 1}")


# Worker processes report each finished image through this queue (set by the initializer).
_TICKS = None


def _init_worker(queue) -> None:
    global _TICKS
    _TICKS = queue
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: a killed ``make`` takes its workers along instead of leaving them writing."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_block(out: str, spec: WorldSpec, block: int) -> int:
    make_block(out, spec, block, _TICKS.put)
    return block


def _run_pool(out: Path, spec: WorldSpec, todo: list[int], workers: int, tick) -> None:
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    queue = ctx.Queue()

    def drain():
        while not queue.empty():
            tick(queue.get())

    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx,
                             initializer=_init_worker, initargs=(queue,)) as pool:
        pending = {pool.submit(_worker_block, str(out), spec, b) for b in todo}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for f in done:
                f.result()  # re-raises a worker's error
    drain()
