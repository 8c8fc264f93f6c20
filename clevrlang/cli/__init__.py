"""The ``clevr`` command line: one click group whose subcommands load on first use.

Every :class:`~clevrlang.language.errors.ClevrError` is printed as its one-screen message (location,
caret, hint) and exits with its class's code (:class:`~clevrlang.language.errors.ExitCode`: 1 the
program ran and failed, 2 the call was wrong, 3 an input could not be read); a Python
traceback reaching a user is a bug.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import click

from clevrlang.language.errors import EXIT_CODE_HELP, ClevrError, ExitCode

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
    "ask": "ask:ask",
}


class Group(click.Group):
    """A group whose command list shows each command's whole first sentence.

    click cuts summaries to the terminal's width ("Train the learned back end (neural...");
    the list wraps them instead.
    """

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class LazyGroup(Group):
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


def _exit_codes_epilog() -> str:
    rows = [textwrap.fill(meaning, 76, initial_indent=f"  {int(code):<5}",
                          subsequent_indent=" " * 7) for code, meaning in EXIT_CODE_HELP.items()]
    return "\b\nExit codes:\n" + "\n".join(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_exit_codes_epilog())
@click.version_option(package_name="clevrlang")
def cli():
    """clevrlang: typed programs for CLEVR-style visual reasoning."""


def main(argv=None) -> int:
    """Entry point: run the group; errors become one message and their ExitCode."""
    try:
        code = cli.main(args=argv, prog_name="clevr", standalone_mode=False)
    except ClevrError as e:
        click.echo(e.render(), err=True)
        return int(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as e:  # usage errors, and FileError: a file named on the line
        e.show()
        return ExitCode.USAGE
    except click.exceptions.Exit as e:
        return e.exit_code
    except BrokenPipeError:
        return ExitCode.OK
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    return code if isinstance(code, int) else ExitCode.OK


def run_main():  # console-script shim: exit with main()'s code
    sys.exit(main())
