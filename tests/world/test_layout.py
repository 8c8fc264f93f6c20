"""CLEVR v1.0's layout: atomic writers, and the reader on a miniature of the real downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clevrlang.backends import get_backend
from clevrlang.datafiles import scene_for
from clevrlang.language.errors import DataError
from clevrlang.scene import compute_relationships
from clevrlang.world import layout
from clevrlang.world.layout import open_world
from clevrlang.world.scenes import cogent_combos
from clevrlang.world.show import draw_overlay, show_image

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "clevr_v1"
CLEVR, COGENT = FIXTURE / "CLEVR_v1.0", FIXTURE / "CLEVR_CoGenT_v1.0"


def test_paths_follow_clevr_names():
    assert layout.image_relpath("val", 42) == "images/val/CLEVR_val_000042.png"
    assert layout.mask_relpath("trainA", 7) == "masks/trainA/CLEVR_trainA_000007.png"
    assert layout.scenes_relpath("valB") == "scenes/CLEVR_valB_scenes.json"
    assert layout.questions_relpath("test") == "questions/CLEVR_test_questions.json"


def test_the_clevr_download_opens():
    w = open_world(CLEVR)
    assert w.splits() == ["train", "val", "test"]
    assert [s.n for s in w.scenes("val")] == [3, 4]
    assert w.scene("val", 1).objects[3]["color"] == "purple"
    assert w.num_images("val") == 2 and w.num_images("test") == 1
    assert w.image_path("val", 1).name == "CLEVR_val_000001.png"
    image = w.load_image("val", 1)  # the files are RGBA, like the release
    assert image.shape == (32, 48, 3) and image.dtype == np.uint8
    assert w.mask_path("val", 0) is None
    q = w.questions("val")
    assert [x.answer for x in q] == ["2", "blue", "yes", "sphere", "yes"]
    assert q[4].program.question_type == "equal_material" and q[4].family == 19


def test_test_splits_have_questions_without_answers_and_no_scenes():
    w = open_world(CLEVR)
    assert not w.has_scenes("test") and w.has_questions("test")
    q = w.questions("test")
    assert len(q) == 2 and q[0].answer is None and q[0].program is None
    with pytest.raises(DataError, match="no scenes file"):
        w.scenes("test")


def test_the_cogent_download_opens_and_keeps_its_conditions():
    w = open_world(COGENT)
    assert w.splits() == ["trainA", "valB", "testA"]
    for split in ("trainA", "valB"):
        combos = cogent_combos(split[-1])
        for o in w.scenes(split)[0].objects:
            assert o["color"] in combos[o["shape"]], (split, o)
    assert w.load_image("testA", 0).shape == (32, 48, 3)
    assert w.questions("testA")[0].answer is None


def test_the_fixture_is_consistent_with_clevr_rules():
    for root in (CLEVR, COGENT):
        w = open_world(root)
        backend = get_backend("symbolic")
        for split in w.splits():
            if not w.has_scenes(split):
                continue
            scenes = w.scenes(split)
            for s in scenes:
                assert s.raw["relationships"] == compute_relationships(
                    s.objects, s.raw["directions"]), (split, s.index)
            qs = w.questions(split)
            got = backend.answer([q.program for q in qs], [scene_for(q, scenes) for q in qs])
            assert got == [q.answer for q in qs]


def test_a_download_folder_one_level_up_opens_when_it_is_alone(tmp_path):
    (tmp_path / "CLEVR_v1.0" / "scenes").mkdir(parents=True)
    assert open_world(tmp_path).root.name == "CLEVR_v1.0"
    with pytest.raises(DataError, match="several CLEVR worlds"):
        open_world(FIXTURE)


@pytest.mark.parametrize("where, message", [
    ("missing", "no such directory"), ("empty", "not a CLEVR world")])
def test_not_a_world(tmp_path, where, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=message):
        open_world(tmp_path / where)


def test_unknown_splits_and_images_are_named():
    w = open_world(CLEVR)
    with pytest.raises(DataError, match=r"no split 'valA' here \(splits: train, val, test\)"):
        w.scenes("valA")
    with pytest.raises(DataError, match="has no image 9"):
        w.load_image("val", 9)
    with pytest.raises(DataError, match="no mask"):
        w.load_mask("val", 0)


def test_write_document_is_json_dumps_byte_for_byte(tmp_path):
    info, items = {"split": "val", "version": "1.0"}, [{"a": 1.5, "b": [1, 2]}, {"c": None}]
    for key, seq in (("scenes", items), ("questions", [])):
        path = layout.write_document(tmp_path / "x" / "f.json", info, key, iter(seq))
        assert path.read_text() == json.dumps({"info": info, key: seq})


def test_atomic_writes_leave_nothing_behind_on_failure(tmp_path):
    def chunks():
        yield b"partial"
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        layout.write_atomic(tmp_path / "out.json", chunks())
    assert list(tmp_path.iterdir()) == []
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".out.json.tmp-{gone}").write_bytes(b"left by a killed run")
    assert layout.remove_temp_files([tmp_path, tmp_path / "absent"]) == 1
    assert list(tmp_path.iterdir()) == []


def test_temp_files_of_a_running_writer_are_kept(tmp_path):
    # another `world make` (a second split or shard) may be writing into the same folder
    live = tmp_path / f".CLEVR_train_questions.json.tmp-{os.getpid()}"
    live.write_bytes(b"being written")
    assert layout.remove_temp_files([tmp_path]) == 0
    assert live.read_bytes() == b"being written"


def test_png_round_trip_and_boxes_from_mask(tmp_path):
    mask = np.zeros((6, 8), np.uint8)
    mask[1:3, 2:5] = 1
    mask[4, 7] = 2
    layout.write_png(tmp_path / "m.png", mask)
    back = layout.read_png(tmp_path / "m.png")
    np.testing.assert_array_equal(back, mask)
    assert layout.boxes_from_mask(back, 3).tolist() == [[2, 1, 5, 3], [7, 4, 8, 5],
                                                        [-1, -1, -1, -1]]
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="not a readable image"):
        layout.read_png(tmp_path / "bad.png")


def test_show_draws_real_clevr_scenes_without_boxes():
    w = open_world(CLEVR)
    out = show_image(w, "val", 1, scale=3)
    assert out.height >= 96 and out.width > 48 * 3  # the image, enlarged, plus a legend
    plain = draw_overlay(w.load_image("test", 0), None, scale=1, legend=False)
    assert plain.size == (48, 32)
