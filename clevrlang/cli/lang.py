"""``clevr run | check | fmt | convert | doc``: the language's own commands."""

from __future__ import annotations

import json
import os

import click

from clevrlang.cli.options import (index_option, refuse_clash, scenes_option, split_option,
                                     world_option)
from clevrlang.language.errors import ClevrError, ExitCode, UsageError


def _read_source(path: str) -> str:
    from clevrlang.files import read_text

    return read_text(path, "a .clv file")


def _refuse_overwrite(path: str, force: bool) -> None:
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")


def _atomic_write(path: str, text: str) -> None:
    from clevrlang.atomic import write_text

    write_text(path, text)


@click.command()
@click.argument("file", type=click.Path())
@scenes_option("A CLEVR scenes JSON file: scene() reads scene --index of it.")
@index_option()
@click.option("--image", type=click.Path(), help="Image for perception back ends.")
@world_option()
@split_option()
@click.option("--backend", default=None, help="symbolic (default with --scenes), engineered, learned.")
@click.option("--trace", is_flag=True, help="Show every node's value.")
@click.option("--show", "show_path", type=click.Path(), help="Write a PNG of what the back end saw.")
@click.option("--model", "--checkpoint", "model", default=None, type=click.Path(exists=True),
              help="Artefact folder (engineered) or checkpoint (learned) for the back end.")
@click.option("--explain", "explain_dir", default=None, type=click.Path(file_okay=False),
              help="Learned: a saliency PNG per result in this folder.")
def run(file, scenes_path, index, image, world_dir, split, backend, trace, show_path, model,
        explain_dir):
    """Run FILE.clv: print each top-level value; `expect` lines pass or fail (exit 1)."""
    from clevrlang.language.program import parse_file
    from clevrlang.run import run_file

    if world_dir:
        scenes_path, image = _world_inputs(world_dir, split, index, scenes_path, image)
    failures = run_file(file, parse_file(file), scenes_path=scenes_path, index=index,
                        image_path=image, backend_name=backend, trace=trace,
                        show_path=show_path, model=model, explain_dir=explain_dir,
                        echo=click.echo)
    click.get_current_context().exit(ExitCode.FAILED if failures else ExitCode.OK)


def _world_inputs(world_dir, split, index, scenes_path, image):
    """(scenes file, image) of image --index of a world; the image only when there are no
    scenes to find it beside (CLEVR's test split)."""
    from clevrlang.world.layout import image_filename, world_files

    refuse_clash(world_dir, scenes=scenes_path, image=image)
    w = world_files(world_dir, split)
    if w.scenes:
        return w.scenes, None
    path = os.path.join(w.images or "", image_filename(w.split, index))
    if not os.path.isfile(path):
        raise UsageError(f"--index {index}: {world_dir} has neither scenes nor image {index} "
                         f"in split {w.split!r}")
    return None, path


@click.command()
@click.argument("file", type=click.Path())
def check(file):
    """Type-check FILE.clv."""
    from clevrlang.language.program import parse_file

    program = parse_file(file)
    click.echo(f"{file}: ok ({len(program.roots)} result(s), {len(program.nodes())} IR nodes)")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--check", is_flag=True,
              help="Change nothing; print a diff and exit 1 if a file would change.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in place (atomically).")
def fmt(files, check, write):
    """Format .clv files: canonical layout, comments, lets and defs kept (prints the result)."""
    from clevrlang.language.formatting import format_files

    click.get_current_context().exit(format_files(files, click.echo, check=check, write=write))


@click.command()
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite DST if it exists.")
def convert(src, dst, force):
    """Convert between a CLEVR questions/program JSON file and .clv, either way.

    SRC is read and DST written; their extensions (.json, .clv) say which way.
    """
    from clevrlang import convert as conv

    _refuse_overwrite(dst, force)
    if src.endswith(".clv") and dst.endswith(".json"):
        data = conv.clv_to_questions(_read_source(src), src)
        _atomic_write(dst, json.dumps(data))
        click.echo(f"wrote {len(data['questions'])} program(s) to {dst}")
    elif src.endswith(".json") and dst.endswith(".clv"):
        text, n = conv.json_to_clv(src)
        _atomic_write(dst, text)
        click.echo(f"wrote {n} program(s) to {dst}")
    else:
        raise UsageError("convert takes a .json and a .clv file (either order)")


@click.command()
@click.option("--format", "fmt_", type=click.Choice(["markdown"]), default="markdown",
              show_default=True, help="Output format.")
def doc(fmt_):
    """Print the language reference (generated from the vocabulary)."""
    from clevrlang.docs import language_reference

    click.echo(language_reference(), nl=False)


__all__ = ["run", "check", "fmt", "convert", "doc", "ClevrError"]
