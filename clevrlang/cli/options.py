"""Options that mean the same thing on every command, defined once: one spelling per concept.

``--scenes`` (also ``--scene``) is a CLEVR scenes file, ``--index`` an image of it,
``--world``/``--split`` a world made by ``clevr world make`` (or CLEVR v1.0 itself), and
``--quiet`` drops progress bars and log lines, leaving results and errors.
"""

from __future__ import annotations

import click

from clevrlang.language.errors import UsageError


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


def refuse_clash(world_dir: str | None, **given) -> None:
    """--world names the scenes, questions and images itself; giving them too is a clash."""
    clash = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if world_dir and clash:
        raise UsageError(f"--world gives the split's files; leave out {', '.join(clash)}")

