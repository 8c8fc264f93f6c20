"""``clevr world``: make, merge and look at CLEVR worlds in CLEVR v1.0's file layout."""

from __future__ import annotations

import re

import click

from clevrlang.cli import Group
from clevrlang.language.errors import UsageError


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise UsageError(f"--size must be WIDTHxHEIGHT (e.g. 320x240), not {text!r}")
    return int(m.group(1)), int(m.group(2))


@click.group(cls=Group)
def world():
    """Make, merge and look at CLEVR worlds (CLEVR v1.0's file layout)."""


@world.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--images", "-n", type=int, required=True, help="Images in the split.")
@click.option("--split", default="train", show_default=True,
              help="Split name (with --cogent, train -> trainA etc.).")
@click.option("--questions-per-image", "-k", type=int, default=10, show_default=True,
              help="Questions asked per image (0: scenes and images only).")
@click.option("--cogent", type=click.Choice(["A", "B"]), default=None,
              help="CLEVR-CoGenT condition: shape/colour combinations of A or B.")
@click.option("--size", default="320x240", show_default=True, help="Image size WxH.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Scenes follow (seed, image index): give each split its own seed.")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes (each makes whole blocks of 250 images).")
@click.option("--shard", default=None, metavar="K/N",
              help="Make only blocks K, K+N, ... (0 <= K < N); join with `clevr world merge`.")
@click.option("--ss", type=click.IntRange(1, 4), default=1, show_default=True,
              help="Supersampling (anti-aliasing) factor.")
@click.option("--block-size", type=click.IntRange(min=1), default=250, hidden=True,
              help="Images per block (a unit of work and of resuming); for tests.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def make(out, images, split, questions_per_image, cogent, size, seed, workers, shard, ss,
         block_size, quiet):
    """Make (or resume) a world in OUT: images, masks, scenes, questions.

    Deterministic for a seed; a killed run resumes where it stopped when given the same
    command again, and ends with the files one uninterrupted run would have written.
    """
    from clevrlang.world.make import Shard, WorldSpec, cogent_split, make_world

    split, cogent = cogent_split(split, cogent)
    width, height = _size(size)
    spec = WorldSpec(images=images, split=split, questions_per_image=questions_per_image,
                     cogent=cogent, width=width, height=height, seed=seed, ss=ss,
                     block_size=block_size)
    sh = Shard.parse(shard) if shard else Shard()
    r = make_world(out, spec, shard=sh, workers=workers, progress=not quiet)
    if r.finished:
        click.echo(f"{split}: already made in {out} ({r.images} images); nothing to do", err=True)
        return
    made = r.images - r.resumed_images
    done = f"{r.images} images"
    if r.resumed_images:
        done += f" ({r.resumed_images} already made)"
    if r.questions is None:
        click.echo(f"shard {sh.k}/{sh.n} of {split}: {done} in {r.seconds:.1f} s; "
                   f"join the shards with `clevr world merge OUT SHARD_DIRS...`", err=True)
    else:
        asked = f", {r.questions} questions" if questions_per_image else ""
        rate = f", {made / r.seconds:.1f} images/s" if made and r.seconds else ""
        click.echo(f"{split}: {done}{asked} in {out} ({r.seconds:.1f} s{rate})", err=True)


@world.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.argument("shard_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def merge(out, shard_dirs, quiet):
    """Join the shard folders SHARD_DIRS (from `make --shard K/N`) into OUT."""
    from clevrlang.world.merge import merge_worlds

    for r in merge_worlds(out, list(shard_dirs), progress=not quiet):
        click.echo(f"{r.split}: {r.images} images, {r.questions} questions in {out} "
                   f"({r.seconds:.1f} s)", err=True)


@world.command()
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--index", "-i", type=click.IntRange(min=0), required=True, help="Image index.")
@click.option("--split", default=None, help="Split (default: train, else the first one).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="PNG to write (default: CLEVR_<split>_<index>_show.png here).")
@click.option("--scale", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Enlarge the image this many times before drawing.")
@click.option("--questions", "n_questions", type=click.IntRange(min=0), default=0,
              help="Also print up to this many of the image's questions.")
def show(root, index, split, out_file, scale, n_questions):
    """Draw boxes, ids and attributes onto image INDEX of the world in ROOT."""
    from clevrlang.world.layout import open_world
    from clevrlang.world.show import show_image

    w = open_world(root)
    splits = w.splits()
    if split is None:
        if not splits:
            raise UsageError(f"{root} holds no split")
        split = "train" if "train" in splits else splits[0]
    out_file = out_file or f"CLEVR_{split}_{index:06d}_show.png"
    show_image(w, split, index, scale=scale).save(out_file)
    click.echo(f"wrote {out_file}", err=True)
    if n_questions and w.has_questions(split):
        mine = [q for q in w.questions(split) if q.image_index == index][:n_questions]
        for q in mine:
            click.echo(f"{q.text}  ->  {q.answer}")
