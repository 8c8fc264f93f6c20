"""``clevr repl``: an interactive session on one image, world image or scene."""

from __future__ import annotations

import sys

import click

from clevrlang.cli.options import index_option, scenes_option, split_option, world_option


@click.command()
@click.option("--image", type=click.Path(), help="An image for the perception back ends.")
@world_option("A world folder (from `clevr world make`, or CLEVR v1.0): scene and image "
              "--index of its split.")
@scenes_option()
@index_option()
@split_option()
@click.option("--backend", default=None,
              help="symbolic (default with a scene), engineered or learned (default with --image).")
@click.option("--history", "history", type=click.Path(), default=None,
              help="History file (default: $CLEVRLANG_HOME/history or ~/.local/share/clevrlang/history).")
def repl(image, world_dir, scenes_path, index, split, backend, history):
    """Type .clv statements and :commands (:help lists them) against one scene or image.

    \b
      clevr repl --world demo/world --index 0
      clevr repl --scenes scenes.json --index 3
      clevr repl < steps.txt      # not a terminal: runs the lines and prints a transcript
    """
    from clevrlang.repl.session import open_session

    session = open_session(image=image, world=world_dir, index=index, split=split,
                           scenes=scenes_path, backend=backend)
    if not sys.stdin.isatty():
        from clevrlang.repl.prompt import run_lines

        run_lines(session, sys.stdin)
        return
    from clevrlang.repl.prompt import open_history, run_prompt

    where = session.scene_label or session.image_path or "no scene or image yet"
    click.echo(f"clevrlang REPL on {where}; back end {session.backend.name}. "
               ":help lists commands, Ctrl-D leaves.")
    run_prompt(session, history=open_history(history, echo=session.echo))
