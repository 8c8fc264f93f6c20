"""The ``clevr`` command line: one click group whose subcommands load on first use.

Every :class:`~clevrlang.errors.ClevrError` is printed as its one-screen message (location,
caret, hint) and exits 1; a Python traceback reaching a user is a bug.
"""

from __future__ import annotations

import importlib
import sys

import click

from clevrlang.errors import ClevrError

# command name -> "module:function" under clevrlang.cli; imported only when invoked, so that
# `clevr fmt` never pays for torch, ultralytics or scikit-learn.
COMMANDS = {
    "run": "lang:run",
    "check": "lang:check",
    "fmt": "lang:fmt",
    "convert": "lang:convert",
    "doc": "lang:doc",
    "eval": "evaluate:eval_command",
    "world": "world:world",
    "train": "train:train",
    "codec": "codec:codec",
    "compare": "compare:compare",
    "repl": "repl:repl",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(f"clevrlang.cli.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"clevrlang.cli.{module}":
                raise
            return None  # not built yet in this checkout
        return getattr(mod, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clevrlang")
def cli():
    """clevrlang: typed programs for CLEVR-style visual reasoning."""


def main(argv=None) -> int:
    """Entry point: run the group, turning clevrlang errors into messages and exit code 1."""
    try:
        code = cli.main(args=argv, prog_name="clevr", standalone_mode=False)
    except ClevrError as e:
        click.echo(e.render(), err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def run_main():  # console-script shim: exit with main()'s code
    sys.exit(main())
