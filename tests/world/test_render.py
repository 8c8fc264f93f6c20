"""The renderer: masks, boxes and pixel_coords agree; NumPy and torch agree; looks differ."""

from __future__ import annotations

import numpy as np
import pytest

from clevrlang.language.errors import DataError, UsageError
from clevrlang.language.vocabulary import COLORS
from clevrlang.world.camera import Camera
from clevrlang.world.render import annotate_scene, render, render_batch, render_mask
from clevrlang.world.scenes import make_scene, min_visible_pixels

W, H = 320, 240


@pytest.fixture(scope="module")
def rendered():
    scenes = [make_scene(21, i, width=W, height=H) for i in range(12)]
    return [(s, render(s)) for s in scenes]


def test_outputs_have_the_promised_shapes_and_types(rendered):
    s, r = rendered[0]
    n = len(s["objects"])
    assert r.image.shape == (H, W, 3) and r.image.dtype == np.uint8
    assert r.mask.shape == (H, W) and r.mask.dtype == np.uint8
    assert r.bboxes.shape == (n, 4) and r.visible_pixels.shape == (n,)
    assert set(np.unique(r.mask)) == set(range(n + 1))


def test_every_object_has_the_visible_pixel_minimum(rendered):
    for s, r in rendered:
        assert (r.visible_pixels >= min_visible_pixels(W, H)).all()
        counts = np.bincount(r.mask.ravel(), minlength=len(s["objects"]) + 1)[1:]
        np.testing.assert_array_equal(counts, r.visible_pixels)


def test_boxes_are_the_mask_extents(rendered):
    for _, r in rendered:
        for i, (x0, y0, x1, y1) in enumerate(r.bboxes):
            ys, xs = np.nonzero(r.mask == i + 1)
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_pixel_coords_fall_inside_boxes(rendered):
    for s, r in rendered:
        for o, (x0, y0, x1, y1) in zip(s["objects"], r.bboxes):
            px, py, _ = o["pixel_coords"]
            assert x0 <= px <= x1 and y0 <= py <= y1


def test_mask_centroid_of_unoccluded_objects_is_near_pixel_coords(rendered):
    checked = 0
    for s, r in rendered:
        for i, o in enumerate(s["objects"]):
            _, alone, _ = render_mask(dict(s, objects=[o]), W, H)
            if alone[0] != r.visible_pixels[i]:
                continue  # partly hidden by another object
            ys, xs = np.nonzero(r.mask == i + 1)
            px, py, _ = o["pixel_coords"]
            assert np.hypot(xs.mean() + 0.5 - px, ys.mean() + 0.5 - py) < 3.0
            checked += 1
    assert checked > 30


def test_mask_render_equals_the_full_render_mask(rendered):
    s, r = rendered[1]
    mask, counts, boxes = render_mask(s, W, H)
    np.testing.assert_array_equal(mask, r.mask)
    np.testing.assert_array_equal(boxes, r.bboxes)


def test_numpy_and_torch_paths_agree(rendered):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    scenes = [s for s, _ in rendered[:4]]
    for (_, a), b in zip(rendered[:4], render_batch(scenes, backend="torch", device="cpu")):
        assert (a.mask != b.mask).sum() <= 3
        diff = np.abs(a.image.astype(int) - b.image.astype(int))
        assert diff.mean() < 0.5 and (diff > 8).sum() < 20
        np.testing.assert_allclose(a.visible_pixels, b.visible_pixels, atol=3)


def test_batch_of_numpy_scenes_equals_single_renders(rendered):
    scenes = [s for s, _ in rendered[:3]]
    for (_, a), b in zip(rendered[:3], render_batch(scenes, backend="numpy")):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.mask, b.mask)


def test_supersampling_keeps_the_mask_and_smooths_the_image(rendered):
    s, r = rendered[2]
    r2 = render(s, ss=2)
    np.testing.assert_array_equal(r2.mask, r.mask)
    assert np.abs(r2.image.astype(int) - r.image.astype(int)).mean() < 4


def _swatch(shape="sphere", size="large", material="rubber", colors=COLORS):
    """Objects in a row across the view, far enough apart not to touch."""
    right = np.array(Camera().directions()["right"][:2])
    z = 0.7 if size == "large" else 0.35
    step = 4 * z - 0.2  # a gap of (4 z - 0.2) - 2 r between objects
    objs = [{"shape": shape, "size": size, "material": material, "color": c, "rotation": 20.0,
             "3d_coords": [*(right * (i - (len(colors) - 1) / 2) * step), z]}
            for i, c in enumerate(colors)]
    return {"objects": objs, "camera": Camera(width=480, height=320).to_dict()}


def _mean_colours(scene):
    r = render(scene)
    return np.array([r.image[r.mask == i + 1].mean(0) for i in range(len(scene["objects"]))])


def test_the_eight_colours_are_far_apart():
    means = _mean_colours(_swatch(size="small"))
    dist = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert dist[~np.eye(len(COLORS), dtype=bool)].min() > 25


def test_metal_is_shinier_and_darker_than_rubber():
    colors = ("red", "blue", "yellow")
    for shape in ("sphere", "cube", "cylinder"):
        rubber, metal = render(_swatch(shape, colors=colors)), render(
            _swatch(shape, material="metal", colors=colors))
        for i in range(len(colors)):
            a, b = rubber.image[rubber.mask == i + 1], metal.image[metal.mask == i + 1]
            assert b.max(1).std() > a.max(1).std() * 1.2 or b.max() > a.max() + 20, shape
            assert b.mean() < a.mean(), shape


def test_sizes_and_shapes_differ_in_the_mask():
    small = render(_swatch(size="small", colors=("red",)))
    large = render(_swatch(size="large", colors=("red",)))
    assert 3.0 < large.visible_pixels[0] / small.visible_pixels[0] < 5.5
    masks = {s: render(_swatch(s, colors=("red",))).mask == 1 for s in ("sphere", "cube",
                                                                         "cylinder")}
    for a in masks:
        for b in masks:
            if a < b:
                iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
                assert iou < 0.9, (a, b)


def test_shadows_fall_on_the_ground_away_from_the_key_light():
    scene = _swatch(colors=("gray",))
    scene["lights"] = {"key": [4.0, -4.0, 4.0]}
    lit, empty = render(scene), render(dict(scene, objects=[]))
    darker = (lit.image.astype(int).sum(-1) < empty.image.astype(int).sum(-1) - 40)
    ys, xs = np.nonzero(darker & (lit.mask == 0))
    assert len(xs) > 300
    cam = Camera.from_dict(scene["camera"])
    obj = cam.project([scene["objects"][0]["3d_coords"]])[0, :2]
    lamp = cam.project([scene["lights"]["key"]])[0, :2]
    assert np.dot([xs.mean() - obj[0], ys.mean() - obj[1]], obj - lamp) > 0


def test_scene_without_camera_or_lights_uses_clevrs_base_scene():
    scene = {"objects": _swatch(colors=("red", "blue"))["objects"]}
    r = render(scene)
    assert r.image.shape == (320, 480, 3) and (r.visible_pixels > 0).all()


def test_empty_scene_renders_the_ground():
    r = render({"objects": []}, 64, 48)
    assert r.mask.max() == 0 and r.bboxes.shape == (0, 4)
    assert 60 < r.image.mean() < 200


def test_annotate_scene_adds_boxes_and_pixel_coords(rendered):
    s, r = rendered[0]
    out = annotate_scene(dict(s, objects=[dict(o) for o in s["objects"]]), r)
    for o, box in zip(out["objects"], r.bboxes):
        assert o["bbox"] == box.tolist()
        assert o["pixel_coords"] == Camera.from_dict(s["camera"]).pixel_coords(o["3d_coords"])


def test_bad_inputs_are_clear_errors():
    with pytest.raises(DataError, match="object 0"):
        render({"objects": [{"shape": "cone", "size": "large", "color": "red",
                             "material": "rubber", "3d_coords": [0, 0, 0]}]}, 32, 24)
    with pytest.raises(DataError, match="object 0"):
        render({"objects": [{"shape": "cube"}]}, 32, 24)
    with pytest.raises(UsageError, match="backend"):
        render({"objects": []}, 32, 24, backend="jax")
    with pytest.raises(UsageError, match="ss"):
        render({"objects": []}, 32, 24, ss=5)
    with pytest.raises(UsageError, match="width and height"):
        render_batch([{"objects": [], "camera": {"width": 32, "height": 24}},
                      {"objects": [], "camera": {"width": 64, "height": 48}}], backend="numpy")
