"""``clevr repl``: an interactive session on one image, world image or scene."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option("--image", type=click.Path(), help="An image for the perception back ends.")
@click.option("--world", "world", type=click.Path(), help="A CLEVR world folder (scene and image).")
@click.option("--scene", "scenes", type=click.Path(), help="A CLEVR scenes JSON file.")
@click.option("--index", default=0, show_default=True, help="Which image/scene of --world or --scene.")
@click.option("--split", default=None, help="The split of --world (default: val, else the first).")
@click.option("--backend", default=None,
              help="symbolic (default with a scene), engineered or learned (default with --image).")
@click.option("--history", "history", type=click.Path(), default=None,
              help="History file (default: $CLEVRLANG_HOME/history or ~/.local/share/clevrlang/history).")
def repl(image, world, scenes, index, split, backend, history):
    """Type .clv statements and :commands (:help lists them) against one scene or image.

    \b
      clevr repl --world demo/world --index 0
      clevr repl --scene scenes.json --index 3
      clevr repl < steps.txt      # not a terminal: runs the lines and prints a transcript
    """
    from clevrlang.repl import open_session

    session = open_session(image=image, world=world, index=index, split=split,
                           scenes=scenes, backend=backend)
    if not sys.stdin.isatty():
        from clevrlang.repl_prompt import run_lines

        run_lines(session, sys.stdin)
        return
    from clevrlang.repl_prompt import open_history, run_prompt

    where = session.scene_label or session.image_path or "no scene or image yet"
    click.echo(f"clevrlang REPL on {where}; back end {session.backend.name}. "
               ":help lists commands, Ctrl-D leaves.")
    run_prompt(session, history=open_history(history, echo=session.echo))
