"""`clevr codec show`: one image through codecs, side by side, with bytes and SSIM."""

from PIL import Image

from clevrlang.compress import codec_outputs_png, get_codec
from clevrlang.compress.task import TaskConfig, build_task_net, save_task_net


def _png_size(path):
    with Image.open(path) as im:
        return im.size


def test_figure_rows_say_bytes_ssim_and_what_cannot_fit(picture, tmp_path):
    path, rows = codec_outputs_png(picture, [("jpeg", 2000), ("jpeg", 40), ("webp", 4000)],
                                   tmp_path / "f.png")
    assert [(r["codec"], r["budget"], r["skipped"]) for r in rows] == [
        ("jpeg", 2000, False), ("jpeg", 40, True), ("webp", 4000, False)]
    jpeg = get_codec("jpeg").encode(picture, 2000)
    assert rows[0]["nbytes"] == jpeg.nbytes <= 2000
    assert 0 < rows[0]["ssim"] <= 1 and rows[1]["ssim"] is None
    # Four panels (original + three) in rows of three: two rows, three columns.
    w, h = _png_size(path)
    assert w > h > 0


def test_cli_shows_a_task_codec_from_its_weights(picture, tmp_path, cli):
    image = tmp_path / "scene.png"
    Image.fromarray(picture).save(image)
    weights = tmp_path / "task_conv.safetensors"
    save_task_net(weights, build_task_net(TaskConfig(width=16, iterations=3)))
    out = tmp_path / "codecs.png"
    code, stdout, stderr = cli("codec", "show", image, "--compress", "task_conv:400",
                               "--compress", "jpeg:3000", "--weights",
                               f"task_conv={weights}", "--out", out)
    assert code == 0, stderr
    assert "task_conv:400  " in stdout and " B, SSIM " in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The figure is not overwritten without --force; weights for an unused codec are refused.
    code, _, stderr = cli("codec", "show", image, "--compress", "jpeg:3000", "--out", out)
    assert code == 2 and "--force" in stderr
    code, _, stderr = cli("codec", "show", image, "--compress", "jpeg:3000", "--weights",
                          f"task_conv={weights}", "--out", tmp_path / "b.png")
    assert code == 2 and "no --compress uses" in stderr and "Traceback" not in stderr
