"""``clevr codec``: the rate-distortion report on world thumbnails, and one image through codecs."""

from __future__ import annotations

import os

import click

from clevrlang.cli import Group
from clevrlang.cli.options import quiet_option


@click.group(cls=Group)
def codec():
    """Image codecs: reports and pictures (training is `clevr train codec`)."""


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


@codec.command()
@click.argument("image", type=click.Path())
@click.option("--compress", "compress_specs", multiple=True, required=True, metavar="CODEC:BYTES",
              help="A codec and byte budget to show (repeatable), e.g. jpeg:640.")
@click.option("--weights", "weight_specs", multiple=True, metavar="CODEC=FILE",
              help="Learned or task codecs: these weights instead of the installed ones "
                   "(repeatable), e.g. task_conv=runs/task_conv.safetensors.")
@click.option("--out", "out_path", required=True, type=click.Path(),
              help="The PNG to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
def show(image, compress_specs, weight_specs, out_path, force):
    """IMAGE through each codec, side by side with bytes and SSIM, as a PNG."""
    from clevrlang.compare import parse_compress
    from clevrlang.compress import codec_outputs_png, get_codec
    from clevrlang.images import load_image
    from clevrlang.language.errors import UsageError

    pairs = parse_compress(compress_specs)
    codecs = {}
    for spec in weight_specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise UsageError(f"--weights takes CODEC=FILE, got {spec!r}")
        codecs[name] = get_codec(name, weights=path)
    unused = set(codecs) - {name for name, _ in pairs}
    if unused:
        raise UsageError(f"--weights for {', '.join(sorted(unused))}, which no --compress uses")
    if os.path.exists(out_path) and not force:
        raise UsageError(f"{out_path} exists", hint="pass --force to overwrite it")
    _, rows = codec_outputs_png(load_image(image), pairs, out_path, codecs)
    for r in rows:
        got = "cannot fit" if r["skipped"] else f"{r['nbytes']} B, SSIM {r['ssim']:.3f}"
        click.echo(f"{r['codec']}:{r['budget']}  {got}")
    click.echo(f"figure: {out_path}")
