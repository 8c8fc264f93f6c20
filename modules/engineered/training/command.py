"""``clevr train engineered``: the click command (light to import; the trainer loads lazily).

Attach it to the ``train`` group with ``train.add_command(engineered)``.
"""

from __future__ import annotations

import click

from clevrlang.compress.degrade import degrade_options, degradation
from clevrlang.resume import resume_or_start, resume_options


@click.command()
@click.option("--world", "world_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="World folder: its train split; held-out images from its val split.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Artefact folder [default: WORLD/models/engineered].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--epochs", type=click.IntRange(min=0), default=30, show_default=True,
              help="Detector epochs (0: keep the --init-detector as it is).")
@click.option("--imgsz", type=click.IntRange(min=32), default=192, show_default=True,
              help="Detector input size (longer side, a multiple of 32).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Use the first N training images.")
@click.option("--classes", type=click.Choice(["shapes", "object"]), default="shapes",
              show_default=True, help="Detector classes: the 3 shapes, or one + a shape SVM.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads [default: the cores idle now].")
@click.option("--init-detector", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start the detector from this detector.safetensors (train on).")
@degrade_options
@resume_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def engineered(world_dir, out, device, epochs, imgsz, limit, classes, threads, init_detector,
               degrade, degrade_bytes, resume, force, quiet):
    """Train the engineered back end: YOLO detector, attribute SVMs, position regression."""
    import logging
    from pathlib import Path

    from clevrlang.modules.engineered.training.train import state_file, train_engineered

    spec = degradation(degrade, degrade_bytes)

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    out = Path(out) if out else Path(world_dir) / "models" / "engineered"
    resume = resume_or_start(out, state_file(out), resume=resume, force=force)
    manifest = train_engineered(world_dir, out, device=device, epochs=epochs, imgsz=imgsz,
                                resume=resume, progress=not quiet, threads=threads,
                                classes=classes, limit=limit, init_detector=init_detector,
                                degrade=spec)
    click.echo(f"artefacts in {out}", err=True)
    for key, label in (("holdout", "held-out"), ("holdout_degraded", "held-out degraded")):
        if key in manifest["metrics"]:
            click.echo(f"{label}: " + ", ".join(f"{k} {v}" for k, v
                                                 in manifest["metrics"][key].items()))


if __name__ == "__main__":  # python -m clevrlang.modules.engineered.training.command --world DIR ...
    engineered()
