"""Geometry and features of the engineered back end (no training, fast)."""

import numpy as np
import pytest

from clevrlang.modules.engineered import geometry as geo
from clevrlang.world.camera import Camera
from clevrlang.world.scenes import make_scene


@pytest.fixture(scope="module")
def scenes():
    return [make_scene(3, i, width=160, height=120) for i in range(12)]


def test_backprojection_inverts_projection():
    cam = Camera((7.0, -6.8, 5.6), width=320, height=240)
    pts = np.array([[1.0, -2.0, 0.35], [-2.5, 2.0, 0.7], [0.0, 0.0, 0.0]])
    uv = cam.project(pts)[:, :2]
    back = geo.backproject(cam, uv, pts[:, 2])
    assert np.allclose(back, pts, atol=1e-9)


def test_frame_round_trip():
    cam = Camera((7.2, -6.1, 5.0), width=320, height=240)
    xy = np.random.default_rng(0).uniform(-3, 3, (5, 2))
    assert np.allclose(geo.from_frame(cam, geo.to_frame(cam, xy)), xy)


def test_amodal_boxes_contain_visible_boxes():
    from clevrlang.world.render import render_mask

    for i in range(4):
        scene = make_scene(5, i, width=160, height=120)
        _, _, visible = render_mask(scene, 160, 120)
        whole = geo.amodal_boxes(scene, 160, 120)
        ok = visible[:, 0] >= 0
        assert (whole[ok, :2] <= visible[ok, :2] + 1.5).all()
        assert (whole[ok, 2:] >= visible[ok, 2:] - 1.5).all()


def test_true_boxes_through_the_base_camera_give_clevr_relations(scenes):
    from clevrlang.scene import compute_relationships

    for scene in scenes:
        boxes = geo.amodal_boxes(scene, 160, 120)
        cam = Camera(width=160, height=120)  # not the scene's jittered camera
        centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
        heights = [o["3d_coords"][2] for o in scene["objects"]]
        est = geo.backproject(cam, centres, heights)
        objs = [{"3d_coords": list(p)} for p in est]
        assert compute_relationships(objs, cam.directions()) == scene["relationships"]


def test_match_is_one_to_one():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    b = np.array([[1, 1, 10, 10], [50, 50, 61, 61]], float)
    assert sorted(geo.match(a, b)) in ([(0, 0), (2, 1)], [(1, 0), (2, 1)])


def test_features_ignore_pixels_of_nearer_objects():
    from clevrlang.modules.engineered.features import (
        APPEARANCE_DIM, appearance_features, own_pixels,
    )

    img = np.full((120, 160, 3), 128, np.uint8)
    img[20:60, 40:80] = (200, 30, 30)  # a red object behind ...
    img[40:90, 60:110] = (30, 30, 200)  # ... a blue one in front
    far, near = [40, 20, 80, 60], [60, 40, 110, 90]
    own = own_pixels(img.shape, [far, near])
    assert not own[0][30:, 30:].any() and own[1].all()
    f = appearance_features(img, [far, near])
    assert f.shape == (2, APPEARANCE_DIM)
    vivid = f[:, -3:]  # mean colour of the most saturated own pixels
    assert vivid[0, 0] > 0.7 and vivid[0, 2] < 0.2  # red, not blue
    assert appearance_features(img, np.zeros((0, 4))).shape == (0, APPEARANCE_DIM)


def test_offline_environment(tmp_path, monkeypatch):
    import os

    from clevrlang.modules.engineered.offline import cache_dir, idle_cores, resolve_device

    monkeypatch.setenv("CLEVRLANG_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path.resolve()
    assert 1 <= idle_cores() <= (os.cpu_count() or 1)
    assert resolve_device("cpu") == "cpu"
