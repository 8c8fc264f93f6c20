"""``clevr codec``: the rate-distortion report of every codec on world thumbnails."""

from __future__ import annotations

import os

import click

from clevrlang.cli import Group
from clevrlang.cli.options import quiet_option


@click.group(cls=Group)
def codec():
    """Image codecs: reports (training is `clevr train codec`)."""


@codec.command()
@click.option("--world", "world_dir", required=True, type=click.Path(), metavar="DIR",
              help="A world folder (from `clevr world make`, or CLEVR v1.0).")
@click.option("--split", default="val", show_default=True, help="Held-out split to measure on.")
@click.option("--images", "n_images", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many thumbnails.")
@click.option("--budgets", default="64,128", show_default=True, help="Byte budgets, comma separated.")
@click.option("--codecs", "codec_spec", default=None,
              help="Codecs, comma separated (default: standard ones + learned ones with weights).")
@click.option("--out", "out_dir", default=None, help="Report folder (default: WORLD/codec_report).")
@quiet_option
def report(world_dir, split, n_images, budgets, codec_spec, out_dir, quiet):
    """SSIM/PSNR at each budget on 32x32 thumbnails, as Markdown and a rate-distortion PNG."""
    from clevrlang.atomic import write_text
    from clevrlang.compress import codec_table, rate_distortion_png, table_markdown
    from clevrlang.language.errors import UsageError
    from clevrlang.thumbnails import world_thumbnails

    try:
        budget_list = [int(b) for b in budgets.split(",")]
    except ValueError:
        raise UsageError(f"--budgets takes numbers like 64,128, got {budgets!r}") from None
    images = world_thumbnails(world_dir, split, n_images)
    codecs = [c.strip() for c in codec_spec.split(",")] if codec_spec else None
    rows = codec_table(images, tuple(budget_list), codecs, progress=not quiet)
    out_dir = out_dir or os.path.join(world_dir, "codec_report")
    table = table_markdown(rows)
    png = rate_distortion_png(rows, os.path.join(out_dir, "rate_distortion.png"))
    write_text(os.path.join(out_dir, "README.md"),
               f"# Codecs on {len(images)} 32x32 thumbnails of {world_dir} ({split})\n\n"
               "SSIM: Gaussian window 11x11, sigma 1.5, Wang et al. constants (scikit-image).\n"
               "Bytes are header-less payloads (the container's headers are not counted).\n\n"
               f"{table}\n![rate-distortion]({os.path.basename(png)})\n")
    click.echo(table)
    click.echo(f"report: {os.path.join(out_dir, 'README.md')}")
