"""`clevr world make / merge / show`: files parse, killed runs resume, shards merge, exactly."""

from __future__ import annotations

import importlib.util
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clevrlang.backends import get_backend
from clevrlang.cli import main
from clevrlang.datafiles import load_questions, load_scenes, scene_for
from clevrlang.language.errors import DataError, UsageError
from clevrlang.world import layout
from clevrlang.world.layout import open_world
from clevrlang.world.make import Shard, WorldSpec, cogent_split, make_world
from clevrlang.world.merge import merge_worlds
from clevrlang.world.scenes import cogent_combos, placement_violations

HAVE_QUESTIONS = importlib.util.find_spec("clevrlang.world.questions") is not None
K = 3 if HAVE_QUESTIONS else 0
# Small images and blocks of 4 (instead of CLEVR's 250) keep a multi-block run to seconds.
SPEC = WorldSpec(images=10, questions_per_image=K, width=96, height=64, seed=3, block_size=4)
ARGS = ["--images", "10", "-k", str(K), "--size", "96x64", "--seed", "3", "--block-size", "4",
        "--quiet"]
CLI = [sys.executable, "-c",
       "import sys; from clevrlang.cli import main; sys.exit(main(sys.argv[1:]))"]
needs_questions = pytest.mark.skipif(not HAVE_QUESTIONS, reason="no question generator yet")


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_world(a: Path, b: Path) -> None:
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    for rel in fa:
        if rel.endswith(".png"):
            np.testing.assert_array_equal(layout.read_png(a / rel), layout.read_png(b / rel),
                                          err_msg=rel)
        else:
            assert fa[rel] == fb[rel], rel


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole")
    make_world(out, SPEC, progress=False)
    return out


def test_every_file_parses_and_the_reader_opens_it(whole):
    scenes = load_scenes(whole / "scenes/CLEVR_train_scenes.json")
    assert [s.raw["image_index"] for s in scenes] == list(range(10))
    w = open_world(whole)
    assert w.splits() == ["train"] and w.num_images("train") == 10
    for s in scenes:
        i = s.raw["image_index"]
        assert placement_violations(s.raw) == []
        assert w.load_image("train", i).shape == (64, 96, 3)
        mask = w.load_mask("train", i)
        assert s.raw["mask_filename"] == s.raw["image_filename"] == f"CLEVR_train_{i:06d}.png"
        assert int(mask.max()) == s.n
        boxes = layout.boxes_from_mask(mask, s.n).tolist()
        assert [o["bbox"] for o in s.objects] == boxes
        for o, (x0, y0, x1, y1) in zip(s.objects, boxes):
            assert x0 <= o["pixel_coords"][0] <= x1 and y0 <= o["pixel_coords"][1] <= y1
    info = json.loads((whole / "scenes/CLEVR_train_scenes.json").read_text())["info"]
    assert info["split"] == "train" and info["settings"]["seed"] == 3


@needs_questions
def test_questions_are_in_the_released_format_and_correct(whole):
    qs = load_questions(whole / "questions/CLEVR_train_questions.json")
    scenes = open_world(whole).scenes("train")
    assert 0 < len(qs) <= 10 * K
    assert [q.question_index for q in qs] == list(range(len(qs)))
    per_image = np.bincount([q.image_index for q in qs], minlength=10)
    assert per_image.max() <= K
    for q in qs:
        assert list(q.raw)[:8] == ["image_index", "program", "question_index", "image_filename",
                                   "question_family_index", "split", "answer", "question"]
        assert 0 <= q.family < 90 and isinstance(q.raw["answer"], str) and q.text
        assert all(set(n) >= {"function", "inputs", "value_inputs"} for n in q.raw["program"])
    got = get_backend("symbolic").answer([q.program for q in qs],
                                         [scene_for(q, scenes) for q in qs])
    assert got == [q.answer for q in qs]


def _images(out: Path) -> int:
    return len(list(out.glob("images/train/*.png")))


def _kill_when(out: Path, ready, delay: float) -> int | None:
    """Start `make`, wait until ``ready(out, images before)`` (or its end), wait ``delay``,
    SIGKILL it; its exit code if it ended by itself."""
    before = _images(out)
    proc = subprocess.Popen(CLI + ["world", "make", str(out)] + ARGS,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ready(out, before) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rc = proc.wait()
    return None if rc == -signal.SIGKILL else rc


def _no_partial_files(out: Path) -> None:
    for p in out.rglob("*"):
        if not p.is_file() or ".tmp-" in p.name:
            continue
        if p.suffix == ".png":
            layout.read_png(p)  # decodes the whole image: a torn file fails here
        elif p.suffix == ".json":
            json.loads(p.read_text())


def test_sigkill_at_random_moments_then_rerun_gives_the_same_world(whole, tmp_path):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    out = tmp_path / "killed"
    parts = out / ".parts" / "train"
    moments = [  # (wait for, then this much longer)
        (lambda o, n: any(parts.glob("block_*.json")), rng.uniform(0.0, 0.1)),
        (lambda o, n: _images(o) > n, rng.uniform(0.0, 0.05)),  # mid-block, mid-write
        (lambda o, n: False, rng.uniform(0.2, 1.5)),  # any moment, start-up included
    ]
    for ready, delay in moments:
        rc = _kill_when(out, ready, delay)
        assert rc in (None, 0), f"make failed (random seed {seed})"
        _no_partial_files(out)
    assert main(["world", "make", str(out)] + ARGS) == 0
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert_same_world(whole, out)


def test_shards_merge_into_the_whole_run(whole, tmp_path):
    dirs = [tmp_path / f"shard{k}" for k in range(3)]
    for k, d in enumerate(dirs):
        r = make_world(d, SPEC, shard=Shard(k, 3), progress=False)
        assert r.questions is None and not (d / "scenes").exists()
    with pytest.raises(UsageError, match=r"missing \[2\]"):
        merge_worlds(tmp_path / "partial", dirs[:2], progress=False)
    assert main(["world", "merge", str(tmp_path / "merged")] + [str(d) for d in dirs]
                + ["--quiet"]) == 0
    assert_same_world(whole, tmp_path / "merged")


def test_merge_refuses_an_unfinished_shard(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_world(a, SPEC, shard=Shard(0, 2), progress=False)
    make_world(b, SPEC, shard=Shard(1, 2), progress=False)
    (b / ".parts/train/block_000001.json").unlink()
    with pytest.raises(DataError, match="shard 1/2 of split 'train' is unfinished"):
        merge_worlds(tmp_path / "m", [a, b], progress=False)


def test_worker_processes_make_the_same_world(whole, tmp_path):
    make_world(tmp_path / "pool", SPEC, workers=2, progress=False)
    assert_same_world(whole, tmp_path / "pool")


def test_rerun_is_a_no_op_and_other_options_are_refused(whole):
    r = make_world(whole, SPEC, progress=False)
    assert r.resumed_images == r.images == 10
    with pytest.raises(UsageError, match="--seed was 3, now 4"):
        make_world(whole, WorldSpec(**{**SPEC.__dict__, "seed": 4}), progress=False)


def test_a_second_split_needs_its_own_seed(tmp_path, capsys):
    # scenes follow (seed, index): a val split of the train split's seed would repeat it
    args = ["--images", "2", "-k", "0", "--size", "96x64", "--quiet", "--seed", "3"]
    assert main(["world", "make", str(tmp_path)] + args) == 0
    assert main(["world", "make", str(tmp_path), "--split", "val"] + args) == 2  # a wrong call
    err = capsys.readouterr().err
    assert "split 'train' made with --seed 3" in err and "--seed 4" in err
    assert not (tmp_path / "images" / "val").exists()
    assert main(["world", "make", str(tmp_path), "--split", "val"] + args[:-1] + ["4"]) == 0
    w = open_world(tmp_path)
    assert w.load_image("val", 0).tobytes() != w.load_image("train", 0).tobytes()


def test_cogent_splits_are_named_and_obey_their_condition(tmp_path):
    assert cogent_split("train", "A") == ("trainA", "A")
    assert cogent_split("valB", None) == ("valB", "B")
    assert cogent_split("val", None) == ("val", None)
    with pytest.raises(UsageError, match="condition B"):
        cogent_split("valB", "A")
    assert main(["world", "make", str(tmp_path), "--images", "3", "-k", "0", "--split", "val",
                 "--cogent", "B", "--size", "96x64", "--quiet"]) == 0
    w = open_world(tmp_path)
    assert w.splits() == ["valB"] and w.image_path("valB", 2).name == "CLEVR_valB_000002.png"
    combos = cogent_combos("B")
    assert all(o["color"] in combos[o["shape"]] for s in w.scenes("valB") for o in s.objects)


@pytest.mark.parametrize("args, message", [
    (["--images", "0"], "--images must be at least 1"),
    (["--images", "2", "--size", "big"], "--size must be WIDTHxHEIGHT"),
    (["--images", "2", "--shard", "2/2"], "--shard must be K/N with 0 <= K < N"),
    (["--images", "2", "--split", "my_split"], "--split must be letters and digits"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, args, message):
    assert main(["world", "make", str(tmp_path / "w"), "-k", "0"] + args) == 2
    assert message in capsys.readouterr().err


def test_show_writes_an_overlay(whole, tmp_path):
    out = tmp_path / "show.png"
    assert main(["world", "show", str(whole), "--index", "2", "--out", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as im:
        assert im.height >= 128 and im.width > 192  # the image at scale 2, plus a legend


def test_a_finished_world_leaves_no_parts_folder(whole, tmp_path, capsys):
    assert not (whole / ".parts").exists()
    a, b = tmp_path / "a", tmp_path / "b"
    make_world(a, SPEC, shard=Shard(0, 2), progress=False)
    make_world(b, SPEC, shard=Shard(1, 2), progress=False)
    assert (a / ".parts" / "train").is_dir()  # a shard keeps its parts until merged
    merge_worlds(tmp_path / "m", [a, b], progress=False)
    assert not (tmp_path / "m" / ".parts").exists()
    # what the parts recorded now comes from the scenes file: a re-run has nothing to do
    assert main(["world", "make", str(whole)] + ARGS) == 0
    assert "already made" in capsys.readouterr().err and not (whole / ".parts").exists()
    with pytest.raises(UsageError, match="--shard was None"):
        make_world(whole, SPEC, shard=Shard(0, 2), progress=False)
