"""``clevr ask "QUESTION"`` and ``clevr train programs``: English to typed programs."""

from __future__ import annotations

import click

from clevrlang.cli.options import (index_option, quiet_option, refuse_clash, scenes_option,
                                     split_option, world_option)
from clevrlang.language.errors import ExitCode
from clevrlang.resume import resume_options


def answer_of(program, *, scenes_path=None, index=0, image=None, backend=None) -> str:
    """The answer of a checked one-result program on one input, as ``clevr run`` finds it."""
    from clevrlang.inputs import Inputs, Interpreters
    from clevrlang.run import choose_backend
    from clevrlang.runtime import render

    be = choose_backend(backend, scenes_path, image)
    (context,) = Inputs(scenes_path, index, image).contexts(be, program.roots, [{}], "<ask>")
    value = Interpreters(be).get(program.roots[0], context).value(program.node)
    return render(value)


@click.command()
@click.argument("question")
@scenes_option("A CLEVR scenes JSON file: answer on scene --index of it.")
@index_option()
@click.option("--image", type=click.Path(), help="An image, for the perception back ends.")
@world_option()
@split_option()
@click.option("--backend", default=None,
              help="symbolic (default with --scenes or --world), engineered, learned.")
@click.option("--top", type=click.IntRange(min=1, max=50), default=1, show_default=True,
              help="Show the K best programs with their log-probabilities.")
@click.option("--generator", "generator_path", type=click.Path(), default=None,
              help="A program generator file from `clevr train programs` [default: the "
                   "installed one].")
@click.option("--guess", is_flag=True,
              help="Read unknown words as <unk> and guess anyway (else they are an error).")
def ask(question, scenes_path, index, image, world_dir, split, backend, top, generator_path,
        guess):
    """Write the program for an English QUESTION, print its type and its answer.

    Without --scenes, --world or --image it prints the program and its type only.
    """
    from clevrlang.asking import LOW_CONFIDENCE, ProgramGenerator, default_generator
    from clevrlang.language.errors import UsageError

    if backend and not (scenes_path or image or world_dir):
        raise UsageError("--backend answers on an input: give --scenes, --world or --image")
    if world_dir:
        from clevrlang.cli.lang import _world_inputs

        scenes_path, image = _world_inputs(world_dir, split, index, scenes_path, image)
    gen = ProgramGenerator(generator_path) if generator_path else default_generator()
    guesses = gen.top(question, max(top, 3), unknown=guess)
    best = guesses[0]
    program = best.program
    click.echo(program.to_clv())
    click.echo(f"  : {program.node.type}")
    unsure = best.probability < LOW_CONFIDENCE
    if top > 1 or unsure:
        if unsure:
            click.echo(f"unsure: the best program has probability {best.probability:.2f}; "
                       "the alternatives:")
        for k, g in enumerate(guesses[:max(top, 3) if unsure else top], 1):
            click.echo(f"  {k}. {g.score:8.3f}  (p={g.probability:.2f})  {g.program.to_clv()}")
    if scenes_path or image:
        answer = answer_of(program, scenes_path=scenes_path, index=index, image=image,
                           backend=backend)
        click.echo(f"answer: {answer}")
    click.get_current_context().exit(ExitCode.OK)


@click.command("programs")
@click.option("--world", "world_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="World folder with questions and scenes (from `clevr world make`).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: model.safetensors and the training state.")
@click.option("--split", default="train", show_default=True, help="The world's split to train on.")
@click.option("--programs", type=click.IntRange(min=0), default=None,
              help="Use only the first N annotated programs [default: all].")
@click.option("--steps", type=click.IntRange(min=0), default=3000, show_default=True,
              help="Supervised steps (batches).")
@click.option("--reinforce", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="STEPS",
              help="REINFORCE steps after them, rewarded by the symbolic back end's answers.")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Questions per step.")
@click.option("--lr", type=float, default=2e-3, show_default=True,
              help="Adam learning rate (decays linearly to a tenth).")
@click.option("--reinforce-lr", type=float, default=1e-4, show_default=True,
              help="Learning rate of the REINFORCE steps.")
@click.option("--hidden", type=click.IntRange(min=8), default=128, show_default=True,
              help="LSTM width.")
@click.option("--seed", type=int, default=0, show_default=True, help="Initialisation and batches.")
@click.option("--save-every", type=click.IntRange(min=1), default=200, show_default=True,
              help="Steps between checkpoints (what --resume restarts from).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@resume_options
@quiet_option
def train_programs(world_dir, out, split, programs, steps, reinforce, batch, lr, reinforce_lr,
                   hidden, seed, save_every, device, threads, resume, force, quiet):
    """Train the program generator (English -> program) on a world's questions."""
    import logging

    import torch

    from clevrlang.asking.train import TrainConfig, train_world

    if threads:
        torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(message)s")
    cfg = TrainConfig(steps=steps, reinforce=reinforce, programs=programs, batch=batch, lr=lr,
                      reinforce_lr=reinforce_lr, hidden=hidden, seed=seed,
                      save_every=save_every)
    result = train_world(world_dir, out, cfg, split=split, device=device, resume=resume,
                         force=force, progress=not quiet)
    if not quiet:
        click.echo(f"wrote {out}/model.safetensors ({result})")
