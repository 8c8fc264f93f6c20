"""Scene generation: CLEVR's placement rules, directions, relationships, CoGenT, determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import COLORS, MATERIALS, SHAPES, SIZE_RADIUS, SIZES
from clevrlang.world.camera import BASE_CAMERA_LOCATION, Camera
from clevrlang.world.scenes import (
    RULES, cogent_combos, compute_relationships, make_scene, min_visible_pixels,
    placement_violations, scene_rng,
)

W, H = 160, 120  # small renders keep the visibility checks fast


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(seed, i, width=W, height=H) for seed in (0, 1) for i in range(25)]


def test_placement_rules_hold_for_many_seeds(scenes):
    for s in scenes:
        assert placement_violations(s) == [], s["image_index"]
        assert RULES.min_objects <= len(s["objects"]) <= RULES.max_objects


def test_objects_rest_on_the_ground_with_clevr_sizes(scenes):
    for s in scenes:
        for o in s["objects"]:
            r = SIZE_RADIUS[o["size"]]
            z = r / math.sqrt(2) if o["shape"] == "cube" else r
            assert o["3d_coords"][2] == pytest.approx(z)
            assert 0 <= o["rotation"] < 360


def test_attribute_values_are_the_vocabulary_and_all_occur(scenes):
    seen = {k: set() for k in ("shape", "color", "size", "material")}
    for s in scenes:
        for o in s["objects"]:
            for k in seen:
                seen[k].add(o[k])
    assert seen == {"shape": set(SHAPES), "color": set(COLORS), "size": set(SIZES),
                    "material": set(MATERIALS)}


def test_scene_json_has_clevr_keys_and_round_trips(scenes):
    s = scenes[0]
    for key in ("image_index", "image_filename", "split", "objects", "directions",
                "relationships"):
        assert key in s
    assert s["image_filename"] == "CLEVR_train_000000.png"
    for o in s["objects"]:
        assert set(o) >= {"color", "size", "shape", "material", "3d_coords", "rotation",
                          "pixel_coords"}
        px, py, depth = o["pixel_coords"]
        assert isinstance(px, int) and isinstance(py, int) and depth > 0
    assert json.loads(json.dumps(s)) == s
    assert set(s["relationships"]) == {"left", "right", "front", "behind"}


def test_relationships_follow_the_margin_rule(scenes):
    for s in scenes:
        objs = s["objects"]
        for rel, lists in s["relationships"].items():
            d = s["directions"][rel]
            assert len(lists) == len(objs)
            for i, related in enumerate(lists):
                expect = [j for j in range(len(objs)) if j != i and sum(
                    (objs[j]["3d_coords"][k] - objs[i]["3d_coords"][k]) * d[k]
                    for k in range(3)) > 0.2]
                assert related == expect


def test_relationships_of_a_hand_made_scene():
    dirs = Camera().directions()
    left = np.array(dirs["left"])
    objs = [{"3d_coords": [0.0, 0.0, 0.7]},
            {"3d_coords": list(left[:2] * 1.0) + [0.7]},  # 1.0 to the left of object 0
            {"3d_coords": list(left[:2] * 0.1) + [0.35]}]  # within the 0.2 margin
    rel = compute_relationships(objs, dirs)
    assert rel["left"][0] == [1]
    assert rel["right"][1] == [0, 2]
    assert rel["left"][2] == [1]


def test_directions_come_from_the_camera(scenes):
    for s in scenes[:5]:
        cam = Camera.from_dict(s["camera"])
        d = {k: np.array(v) for k, v in s["directions"].items()}
        for v in d.values():
            assert np.linalg.norm(v) == pytest.approx(1.0)
        assert d["above"].tolist() == [0.0, 0.0, 1.0]
        assert d["behind"] @ d["left"] == pytest.approx(0.0, abs=1e-9)
        assert d["behind"][2] == 0 and d["left"][2] == 0
        flat = cam.forward * [1, 1, 0]
        assert d["behind"] == pytest.approx(flat / np.linalg.norm(flat))
        np.testing.assert_allclose(d["front"], -d["behind"])
        np.testing.assert_allclose(d["right"], -d["left"])


def test_base_camera_gives_clevrs_published_directions():
    d = Camera(BASE_CAMERA_LOCATION).directions()
    assert d["behind"] == pytest.approx([-0.754490315914154, 0.6563112735748291, 0.0], abs=2e-4)
    assert d["left"] == pytest.approx([-0.6563112735748291, -0.7544902563095093, 0.0], abs=2e-4)


def test_camera_and_lights_are_jittered_within_clevrs_ranges(scenes):
    locations = np.array([s["camera"]["location"] for s in scenes])
    assert np.abs(locations - BASE_CAMERA_LOCATION).max() <= RULES.camera_jitter
    assert len({tuple(x) for x in locations}) == len(scenes)
    keys = np.array([s["lights"]["key"] for s in scenes])
    assert keys.std(axis=0).min() > 0.1


def test_stored_camera_reproduces_pixel_coords_and_matrices(scenes):
    s = scenes[3]
    cam = Camera.from_dict(s["camera"])
    assert (cam.width, cam.height) == (W, H)
    k, rt = np.array(s["camera"]["intrinsic"]), np.array(s["camera"]["extrinsic"])
    for o in s["objects"]:
        assert cam.pixel_coords(o["3d_coords"]) == o["pixel_coords"]
        uvw = k @ rt @ np.array(o["3d_coords"] + [1.0])
        assert round(uvw[0] / uvw[2]) == o["pixel_coords"][0]
        assert round(uvw[1] / uvw[2]) == o["pixel_coords"][1]
        assert uvw[2] == pytest.approx(o["pixel_coords"][2])


def test_same_seed_and_index_give_the_same_scene_in_any_order():
    a = [make_scene(5, i, width=W, height=H) for i in range(4)]
    b = [make_scene(5, i, width=W, height=H) for i in reversed(range(4))][::-1]
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(make_scene(6, 0, width=W, height=H)) != json.dumps(a[0])


def test_a_generator_can_be_passed_instead_of_a_seed():
    a = make_scene(scene_rng(9, 2), 2, width=W, height=H)
    assert a == make_scene(9, 2, width=W, height=H)


@pytest.mark.parametrize("condition", ["A", "B"])
def test_cogent_conditions_restrict_shape_colour_pairs(condition):
    combos = cogent_combos(condition)
    assert set(combos) == set(SHAPES)
    seen = set()
    for i in range(25):
        for o in make_scene(3, i, width=W, height=H, cogent=condition)["objects"]:
            assert o["color"] in combos[o["shape"]]
            seen.add((o["shape"], o["color"]))
    assert {"cube", "cylinder"} <= {shape for shape, _ in seen}


def test_cogent_a_and_b_swap_cube_and_cylinder_colours():
    a, b = cogent_combos("A"), cogent_combos("B")
    assert set(a["cube"]) == set(b["cylinder"]) and set(a["cylinder"]) == set(b["cube"])
    assert not set(a["cube"]) & set(b["cube"])
    with pytest.raises(UsageError, match="CoGenT"):
        cogent_combos("C")


def test_visible_pixel_minimum_scales_with_pixel_area():
    assert min_visible_pixels(480, 320) == 200
    assert min_visible_pixels(320, 240) == 100
    assert min_visible_pixels(960, 640) == 800


def test_negative_seed_is_a_usage_error():
    with pytest.raises(UsageError, match="seed"):
        scene_rng(-1, 0)
