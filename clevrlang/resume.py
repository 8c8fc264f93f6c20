"""One resume rule for every trainer (``clevr train engineered|learned|codec``).

An output folder that holds a training run is never overwritten by accident:

* ``--resume`` continues the run exactly where it stopped -- or, when it has finished, says
  so and trains no more; in a folder with no run it says so and starts one;
* ``--force`` starts over, replacing the run;
* with neither, the command refuses, naming both.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from clevrlang.language.errors import UsageError

log = logging.getLogger("clevrlang.train")


def resume_options(command):
    """``--resume`` and ``--force``, spelled and explained alike on every trainer."""
    command = click.option("--force", is_flag=True,
                           help="Start over in OUT, replacing the run there.")(command)
    return click.option("--resume", is_flag=True,
                        help="Continue the run in OUT where it stopped (a finished run: "
                             "nothing to do).")(command)


def resume_or_start(out, state, *, resume: bool, force: bool) -> bool:
    """Whether to resume the run whose training state file is ``state`` (in folder ``out``);
    raises UsageError rather than replace a run that neither flag names."""
    if resume and force:
        raise UsageError("--resume continues the run in the output folder and --force "
                         "replaces it: give one of them")
    if not Path(state).exists():
        if resume:
            say_nothing_to_resume(out)
        return False
    if resume:
        return True
    if not force:
        raise UsageError(f"{out} already holds a training run ({Path(state).name})",
                         hint="pass --resume to continue it, or --force to start over")
    log.warning("--force: starting over in %s", out)
    return False


def say_nothing_to_resume(out) -> None:
    log.warning("%s holds no run to resume; starting a new one", out)


def say_finished(out, progress: str) -> None:
    """Tell the user the run being resumed had already finished (the trainer then stops)."""
    log.warning("%s holds a finished run (%s): nothing to resume; pass --force to train "
                "again from scratch", out, progress)
