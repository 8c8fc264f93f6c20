"""Options that mean the same thing on every command, defined once: one spelling per concept.

``--scenes`` (also ``--scene``) is a CLEVR scenes file, ``--index`` an image of it,
``--world``/``--split`` a world made by ``clevr world make`` (or CLEVR v1.0 itself), and
``--quiet`` drops progress bars and log lines, leaving results and errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import click

from clevrlang.errors import UsageError


class AliasedOption(click.Option):
    """An option whose first spelling is the one the help shows; the others are named after
    its text ("(also --scene)") and work the same."""

    def get_help_record(self, ctx):
        record = super().get_help_record(ctx)
        aliases = [o for o in self.opts[1:] if o.startswith("--")]
        if record is None or not aliases:
            return record
        spec, text = record
        for alias in aliases:
            spec = spec.replace(f", {alias}", "").replace(f"{alias}, ", "")
        return spec, f"{text} (also {', '.join(aliases)})"


def scenes_option(help: str = "A CLEVR scenes JSON file."):
    return click.option("--scenes", "--scene", "scenes_path", cls=AliasedOption,
                        type=click.Path(), metavar="FILE", help=help)


def index_option(help: str = "Which image of --scenes or --world."):
    return click.option("--index", type=click.IntRange(min=0), default=0, show_default=True,
                        help=help)


def world_option(help: str = "A world folder (from `clevr world make`, or CLEVR v1.0): its "
                             "scenes, questions and images."):
    return click.option("--world", "world_dir", type=click.Path(), metavar="DIR", help=help)


def split_option(help: str = "The split of --world [default: val, else the first with scenes]."):
    return click.option("--split", default=None, help=help)


quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="No progress bars or log lines: results and errors only.")


@dataclass(frozen=True)
class WorldFiles:
    """The files of one split of a world; None where the split has none (CLEVR's test)."""

    root: str
    split: str
    scenes: str | None
    questions: str | None
    images: str | None  # the split's image folder


def world_files(world_dir: str, split: str | None = None) -> WorldFiles:
    """Where ``--world DIR --split S`` keeps its files (``scenes/CLEVR_<split>_scenes.json``,
    ``questions/...``, ``images/<split>/``); the split defaults as the REPL's does."""
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    splits = world.splits()
    if split is None:
        with_scenes = [s for s in splits if world.has_scenes(s)]
        split = "val" if "val" in with_scenes else (with_scenes or splits or ["val"])[0]
    elif split not in splits:
        raise UsageError(f"--split {split}: {world_dir} has no such split",
                         hint=f"splits: {', '.join(splits) or 'none'}")
    images = os.path.join(world.root, "images", split)
    return WorldFiles(
        root=str(world.root), split=split,
        scenes=str(world.scenes_path(split)) if world.has_scenes(split) else None,
        questions=str(world.questions_path(split)) if world.has_questions(split) else None,
        images=images if os.path.isdir(images) else None)


def refuse_clash(world_dir: str | None, **given) -> None:
    """--world names the scenes, questions and images itself; giving them too is a clash."""
    clash = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if world_dir and clash:
        raise UsageError(f"--world gives the split's files; leave out {', '.join(clash)}")
