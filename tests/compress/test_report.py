import math

from clevrlang.compress import (codec_table, get_codec, rate_distortion_png, table_markdown)
from clevrlang.compress.learned import LearnedCodec
from clevrlang.compress.networks import NetConfig, build_net


def test_table_and_figure(thumbs, tmp_path):
    learned = LearnedCodec(build_net(NetConfig("conv_lstm", 16, 16)))
    rows = codec_table(thumbs[:2], budgets=(64, 128), codecs=("jpeg", get_codec("avif"), learned))
    assert [(r["codec"], r["budget"]) for r in rows] == [
        ("jpeg", 64), ("jpeg", 128), ("avif", 64), ("avif", 128), ("conv_lstm", 64),
        ("conv_lstm", 128)]
    for r in rows:
        assert r["images"] + r["skipped"] == 2
        if r["images"]:
            assert r["nbytes"] <= r["budget"] and r["nbytes"] <= r["total_bytes"]
            assert 0 < r["ssim"] <= 1 and not math.isnan(r["psnr"])
    md = table_markdown(rows)
    assert md.count("\n") == len(rows) + 2 and "| jpeg | 64 |" in md
    png = rate_distortion_png(rows, tmp_path / "rd.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
