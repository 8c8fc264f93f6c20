"""``clevr train``: train the models of the back ends from a world."""

from __future__ import annotations

import click

from clevrlang.cli import Group
from clevrlang.cli.options import quiet_option
from clevrlang.compress.degrade import degrade_options, degradation
from clevrlang.language.vocabulary import BINARIZERS, CODEC_LOSSES
from clevrlang.resume import resume_or_start, resume_options


@click.group(cls=Group)
def train():
    """Train models from a world made by `clevr world make`."""


@train.command()
@click.option("--world", "world_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="World folder (images/, questions/).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Checkpoint folder [default: WORLD/models/learned].")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Passes over the training questions.")
@click.option("--batch", type=click.IntRange(min=1), default=64, show_default=True,
              help="Global batch (split over torchrun processes).")
@click.option("--lr", type=float, default=5e-4, show_default=True, help="Adam learning rate.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@resume_options
@click.option("--channels", type=click.IntRange(min=8), default=32, show_default=True,
              help="Channels of the stem and of every module.")
@click.option("--width", type=click.IntRange(min=32), default=None,
              help="Image width the network sees, height keeping the aspect [default: 128; "
                   "with --init, its width, and another only for a global-pool classifier].")
@click.option("--split", "train_split", default="train", show_default=True,
              help="The world's split to train on.")
@click.option("--val-split", default="val", show_default=True,
              help="The world's split to validate on.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use the first N questions.")
@click.option("--stem", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Initialise the stem from a pretrained stem file.")
@click.option("--init", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from this model checkpoint's weights and network config (fine-tune: "
                   "fresh optimizer and schedule).")
@click.option("--widen", type=click.IntRange(min=1), default=None, metavar="CHANNELS",
              help="With --init: first widen its network to CHANNELS channels, computing the "
                   "same answers (Net2Net), then train on.")
@click.option("--pretrain-stem", type=click.IntRange(min=0), default=0, metavar="STEPS",
              help="First pretrain the stem on dense labels for STEPS steps (OUT/stem.safetensors).")
@click.option("--aux-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Weight of set supervision from the world's scene graphs and masks "
                   "(0: answers only, as in the paper).")
@click.option("--count-head", is_flag=True,
              help="Also supervise where each set's objects are centred (a density map whose "
                   "sum is the count; needs --aux-weight; may be added to an --init model).")
@click.option("--pool", type=click.Choice(["max2", "global"]), default="max2", show_default=True,
              help="Classifier pooling: IEP's 2x2 max pool + flatten, or global mean and max.")
@click.option("--image-skip", is_flag=True,
              help="Every module also sees the stem's features (TbD/FiLM-style).")
@click.option("--context", default="", metavar="FAMILIES",
              help="Comma-separated module families (e.g. same,relate) whose modules also read "
                   "a summary of their whole input map; may be added to an --init model.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of initialisation and batch order.")
@click.option("--save-every", type=click.IntRange(min=1), default=100, show_default=True,
              help="Steps between checkpoints (what --resume restarts from).")
@click.option("--val-every", type=click.IntRange(min=1), default=500, show_default=True,
              help="Steps between validations.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@degrade_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def learned(world_dir, out, epochs, batch, lr, device, resume, force, channels, width,
            train_split, val_split, limit, stem, init, widen, pretrain_stem, aux_weight,
            count_head, pool, image_skip, context, seed, save_every, val_every, threads,
            degrade, degrade_bytes, quiet):
    """Train the learned back end (neural module networks) on ground-truth programs.

    Runs under `torchrun --nproc_per_node N` as it is (DDP: gloo on CPU, nccl on GPU).
    """
    import logging
    import os

    import torch

    from clevrlang.modules.learned.checkpoint import STATE_FILE
    from clevrlang.modules.learned.training.session import accuracy_table, train_world

    spec = degradation(degrade, degrade_bytes)
    if threads:
        torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    out = out or os.path.join(world_dir, "models", "learned")
    resume = resume_or_start(out, os.path.join(out, STATE_FILE), resume=resume, force=force)
    r = train_world(world_dir, out, epochs=epochs, batch=batch, lr=lr, device=device,
                    resume=resume, channels=channels, width=width, train_split=train_split,
                    val_split=val_split, limit=limit, stem=stem, init=init, widen=widen or 0,
                    pretrain_stem=pretrain_stem, aux_weight=aux_weight,
                    count_head=count_head, pool=pool,
                    image_skip=image_skip, seed=seed, save_every=save_every,
                    val_every=val_every, progress=not quiet, degrade=spec,
                    context=tuple(f.strip() for f in context.split(",") if f.strip()))
    if int(__import__("os").environ.get("RANK", "0")) == 0:
        click.echo(f"step {r['step']}: {r['train_questions']} training questions on "
                   f"{r['train_images']} images, {r['seconds'] / 3600:.2f} h of training; "
                   f"checkpoints in {r['out']}", err=True)
        if r.get("validation"):
            click.echo(accuracy_table(r["validation"]))


@train.command("codec", short_help="Train a learned codec (Toderici et al. 2016) on 32x32 "
               "thumbnails of a world.")
@click.option("--world", "world_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="World folder whose images are thumbnailed to train on.")
@click.option("--codec", "codec_name", required=True, help="A learned codec, e.g. conv_lstm.")
@click.option("--split", default="train", show_default=True,
              help="The world's split to train on.")
@click.option("--images", "n_images", type=click.IntRange(min=1), default=None,
              help="Use the first N images of the split (as 32x32 thumbnails).")
@click.option("--full-images", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also train on 32x32 crops of the first N full-size images (half of every "
                   "batch), so that whole images coded as tiles look like their training data.")
@click.option("--iterations", type=click.IntRange(min=1), default=16, show_default=True,
              help="Progressive iterations (each adds bits and refines the image).")
@click.option("--steps", type=click.IntRange(min=1), default=3000, show_default=True,
              help="Training steps (the total, counting a resumed run's).")
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True,
              help="Thumbnails per step.")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--width", type=click.IntRange(min=8), default=None, help="Network width.")
@click.option("--code-channels", type=click.IntRange(min=1), default=16, show_default=True,
              help="Conv codecs: bits per 16x16 pixels per iteration (32: the 2016 paper's).")
@click.option("--edge-channels", type=click.IntRange(min=0), default=0, show_default=True,
              help="conv_lstm: channels of the full-resolution ends (0: width / 8, the "
                   "paper's proportions).")
@click.option("--loss", type=click.Choice(CODEC_LOSSES), default="l1", show_default=True,
              help="Per-iteration loss: L1 of the residual, or 1 - SSIM plus L1.")
@click.option("--iteration-weights", default=None, callback=lambda c, p, v: _floats(v),
              metavar="W1,W2,...",
              help="Weight of each iteration's loss, one per iteration [default: all 1].")
@click.option("--init", "init", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Start from these weights (and their network config): fine-tune with a "
                   "fresh optimizer and schedule.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Checkpoint folder [default: WORLD/models/codecs].")
@click.option("--task", type=click.Choice(["learned"]), default=None,
              help="Task codecs: also minimise this frozen back end's answer loss on the "
                   "decoded images.")
@click.option("--task-weight", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="Task codecs: weight of the answer loss (with --task).")
@click.option("--feature-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Task codecs: weight of the back end's image features (its stem's, on "
                   "the decoded against the original image; with --task).")
@click.option("--scale", type=click.Choice(["1", "2", "4"]), default=None,
              help="Task codecs: code the image downsampled by this [default: 2].")
@click.option("--binarizer", type=click.Choice(BINARIZERS), default=None,
              help="Bits in training: the sign the codec writes or Toderici et al.'s samples "
                   "(straight-through gradients both) [default: sign for task codecs, "
                   "stochastic for the others].")
@click.option("--blocks", type=click.IntRange(min=0), default=None,
              help="Task codecs: residual blocks at the code grid [default: 2].")
@click.option("--rate-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Task codecs: weight of the entropy-coded bits per pixel in the encoder's "
                   "loss (the prior always learns them).")
@click.option("--object-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Task codecs: the pixel and feature errors on objects (the world's masks) "
                   "count 1 + this, the floor's 1.")
@click.option("--balance-objects", is_flag=True,
              help="Task codecs: spread --object-weight per object, not per pixel, so a small "
                   "object counts as much as a large one.")
@click.option("--task-model", type=click.Path(exists=True), default=None,
              help="Task codecs: the learned back end's checkpoint [default: the installed one].")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@resume_options
@quiet_option
def codec(world_dir, codec_name, split, n_images, full_images, iterations, steps, batch, lr,
          width, code_channels, edge_channels, loss, iteration_weights, init, device, out,
          task, task_weight, feature_weight, binarizer, scale, blocks, rate_weight, object_weight,
          balance_objects, task_model, threads, resume, force, quiet):
    """Train a learned codec (Toderici et al. 2016) on 32x32 thumbnails of a world, or a task
    codec (task_conv) on its full-size images, with --task learned through the learned back
    end's answers."""
    import logging
    import os

    from clevrlang.compress import train_codec
    from clevrlang.compress.training import state_file
    from clevrlang.language.vocabulary import TASK_CODECS
    from clevrlang.thumbnails import world_images, world_thumbnails

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if threads:
        import torch

        torch.set_num_threads(threads)
    out = out or os.path.join(world_dir, "models", "codecs")
    if codec_name in TASK_CODECS:
        _task_codec(world_dir, codec_name, split, n_images, iterations, steps, batch, lr, width,
                    code_channels, init, device, out, task, task_weight, rate_weight,
                    task_model, resume, force, quiet, feature_weight=feature_weight,
                    scale=None if scale is None else int(scale), blocks=blocks,
                    binarizer=binarizer or "sign", object_weight=object_weight,
                    balance_objects=balance_objects,
                    thumbnail_only=full_images or edge_channels or loss != "l1"
                    or iteration_weights is not None)
        return
    if scale is not None or blocks is not None or object_weight or balance_objects:
        raise click.UsageError(f"--scale, --blocks, --object-weight and --balance-objects are "
                               f"for a task codec ({', '.join(TASK_CODECS[:-1])}), not "
                               f"{codec_name}")
    if task:
        raise click.UsageError(f"--task trains a task codec ({', '.join(TASK_CODECS[:-1])}), "
                               f"not {codec_name}")
    resume = resume_or_start(out, state_file(out, codec_name), resume=resume, force=force)
    images = world_thumbnails(world_dir, split, n_images)
    more = list(world_images(world_dir, split, full_images)) if full_images else None
    r = train_codec(images, codec_name, iterations=iterations, steps=steps, batch=batch, lr=lr,
                    out_dir=out, resume=resume, device=device, progress=not quiet, width=width,
                    code_channels=code_channels, loss=loss, init=init,
                    edge_channels=edge_channels, iteration_weights=iteration_weights,
                    more_images=more, binarizer=binarizer or "stochastic")
    click.echo(f"{codec_name}: step {r.step}, {r.seconds / 60:.1f} min; checkpoint {r.path}",
               err=True)


def _task_codec(world_dir, codec_name, split, n_images, iterations, steps, batch, lr, width,
                code_channels, init, device, out, task, task_weight, rate_weight, task_model,
                resume, force, quiet, thumbnail_only, feature_weight=0.0, scale=None,
                blocks=None, binarizer="sign", object_weight=0.0,
                balance_objects=False) -> None:
    import os

    from clevrlang.compress.task_training import load_world, train_task_codec
    from clevrlang.language.vocabulary import TASK_DEFAULT

    if codec_name == "task":
        raise click.UsageError(f"'task' names the installed default; train an architecture "
                               f"(--codec {TASK_DEFAULT})")
    if thumbnail_only:
        raise click.UsageError("--full-images, --edge-channels, --loss and --iteration-weights "
                               "are thumbnail-codec options; a task codec trains on whole "
                               "images with pixels + rate (+ --task) losses")
    from click.core import ParameterSource

    from clevrlang.compress.task import TaskConfig

    given = click.get_current_context().get_parameter_source
    if given("iterations") == ParameterSource.DEFAULT:  # those defaults are the thumbnails'
        iterations = TaskConfig.iterations
    if given("code_channels") == ParameterSource.DEFAULT:
        code_channels = TaskConfig.code_channels
    state = os.path.join(out, f"{codec_name}.train.safetensors")
    resume = resume_or_start(out, state, resume=resume, force=force)
    data = load_world(world_dir, split, n_images, progress=not quiet, objects=object_weight > 0)
    r = train_task_codec(data, codec_name, steps=steps, batch=batch, lr=lr, out_dir=out,
                         resume=resume, device=device, progress=not quiet, width=width,
                         iterations=iterations, code_channels=code_channels, init=init,
                         task=task, task_weight=task_weight, rate_weight=rate_weight,
                         task_model=task_model, feature_weight=feature_weight, scale=scale,
                         blocks=blocks, binarizer=binarizer, object_weight=object_weight,
                         balance_objects=balance_objects)
    click.echo(f"{codec_name}: step {r.step}, {r.seconds / 60:.1f} min; checkpoint {r.path}",
               err=True)


def _floats(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None


def _attach_engineered() -> None:
    from clevrlang.modules.engineered.training.command import engineered

    train.add_command(engineered)


_attach_engineered()


def _attach_programs() -> None:
    from clevrlang.cli.ask import train_programs

    train.add_command(train_programs)


_attach_programs()
