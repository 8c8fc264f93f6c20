"""The command line's conventions, checked over the whole click tree: every option and
argument is explained, summaries are never cut, one spelling per concept."""

import re

import click
import pytest

from clevrlang.cli import cli


def _commands(group=cli, ctx=None, path=("clevr",)):
    """(path, command) for every command and group under ``clevr``."""
    ctx = ctx or click.Context(group, info_name="clevr")
    yield path, group
    if isinstance(group, click.Group):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            sub = click.Context(cmd, info_name=name, parent=ctx)
            yield from _commands(cmd, sub, path + (name,))


COMMANDS = {" ".join(path): cmd for path, cmd in _commands()}
LONG = ["eval", "compare", "train learned", "train engineered", "train codec", "world make",
        "codec report", "train programs"]


def test_the_tree_is_complete():
    for name in ["run", "check", "fmt", "convert", "doc", "eval", "repl", "compare",
                 "world make", "world show", "world merge", "train learned", "train codec",
                 "train engineered", "codec report", "ask", "train programs"]:
        assert f"clevr {name}" in COMMANDS, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_and_argument_is_explained(name):
    cmd = COMMANDS[name]
    assert (cmd.help or "").strip(), f"{name} has no help text"
    doc = cmd.help or ""
    for p in cmd.params:
        if isinstance(p, click.Argument):  # arguments are explained in the docstring
            assert p.human_readable_name.lower() in doc.lower(), \
                f"{name}: {p.human_readable_name} not in its help"
        else:
            assert (p.help or "").strip(), f"{name}: {p.opts[0]} has no help"


@pytest.mark.parametrize("name", sorted(n for n, c in COMMANDS.items()
                                        if isinstance(c, click.Group)))
def test_command_summaries_are_not_cut(name, cli):
    args = name.split()[1:] + ["--help"]
    code, out, _ = cli(*args)
    assert code == 0
    commands = out.split("Commands:")[1].split("\n\n")[0]
    assert "..." not in commands, commands
    cmd = COMMANDS[name]
    for sub in cmd.list_commands(click.Context(cmd)):  # each summary ends its sentence
        summary = re.search(rf"^  {sub} +(.*?)(?=^  \S|\Z)", commands, re.M | re.S).group(1)
        assert " ".join(summary.split()).endswith("."), (sub, summary)


@pytest.mark.parametrize("name", LONG)
def test_long_commands_take_quiet(name):
    opts = {o for p in COMMANDS[f"clevr {name}"].params for o in p.opts}
    assert {"--quiet", "-q"} <= opts, name


@pytest.mark.parametrize("name", ["run", "eval", "repl", "ask"])
def test_scene_files_are_spelled_both_ways_and_worlds_accepted(name):
    params = {o: p for p in COMMANDS[f"clevr {name}"].params for o in p.opts}
    assert params["--scenes"] is params["--scene"]
    assert "--world" in params and "--split" in params and "--index" in params


def test_the_alias_is_named_once_in_help(cli):
    code, out, _ = cli("run", "--help")
    assert code == 0
    assert re.search(r"^  --scenes FILE ", out, re.M) and "(also --scene)" in out


def test_help_lists_the_exit_codes(cli):
    from clevrlang.language.errors import EXIT_CODE_HELP

    code, out, _ = cli("--help")
    assert code == 0 and "Exit codes:" in out
    for code in EXIT_CODE_HELP:
        assert re.search(rf"^ +{int(code)} +\S", out, re.M), code


@pytest.fixture(scope="module")
def world():
    from conftest import FIXTURES

    return FIXTURES / "clevr_v1" / "CLEVR_v1.0"


def test_run_on_a_world(tmp_path, cli, world):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count\nexpect scene() |> count == 3\n")
    code, out, err = cli("run", prog, "--world", world, "--index", "0")
    assert code == 0, err
    assert out.splitlines() == [f"{prog}:1: 3", f"{prog}:2: pass  expect scene() |> count == 3"]
    code, out, _ = cli("run", prog, "--world", world, "--split", "val", "--index", "1")
    assert code == 1 and "FAIL" in out  # another scene: the expectation fails


def test_eval_on_a_world(cli, world):
    code, out, err = cli("eval", "--world", world, "--split", "val", "--json")
    assert code == 0, err
    import json

    assert json.loads(out)["symbolic"]["overall"] == 1.0


def test_scene_and_scenes_are_the_same_option(tmp_path, cli, world):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    scenes = world / "scenes" / "CLEVR_val_scenes.json"
    outs = [cli("run", prog, spelling, scenes, "--index", "1")[1] for spelling in
            ("--scene", "--scenes")]
    assert outs[0] == outs[1] and outs[0].strip().endswith(": 4")


def test_world_clashes_with_the_files_it_names(tmp_path, cli, world):
    prog = tmp_path / "p.clv"
    prog.write_text("scene() |> count")
    code, _, err = cli("run", prog, "--world", world, "--scenes", world / "x.json")
    assert code == 2 and "leave out --scenes" in err
    code, _, err = cli("eval", "--world", world, "--questions", world / "q.json")
    assert code == 2 and "leave out --questions" in err
    code, _, err = cli("run", prog, "--world", world, "--split", "nope")
    assert code == 2 and "no such split" in err and "splits: train, val, test" in err
