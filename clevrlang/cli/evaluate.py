"""``clevr eval``: accuracy of back ends on a CLEVR questions file, or a .clv test suite."""

from __future__ import annotations

import json
import os

import click

from clevrlang.cli.options import (index_option, quiet_option, refuse_clash, scenes_option,
                                     split_option, world_option)
from clevrlang.language.errors import ExitCode, UsageError


def _backends(spec: str) -> list[str]:
    """The names of --backend, each checked before anything runs."""
    from clevrlang.backends import check_name

    names = [check_name(b.strip()) for b in spec.split(",") if b.strip()]
    if not names:
        raise UsageError("--backend needs at least one name")
    return names


def _table(results, title: str):
    from rich.table import Table

    from clevrlang.evaluation import AccuracyTable

    table = Table(title=title)
    table.add_column("back end")
    for h in AccuracyTable.header():
        table.add_column(h, justify="right")
    for r in results:
        table.add_row(r.backend, *r.table.row())
    return table


@click.command("eval")
@click.argument("suite", required=False, type=click.Path())
@click.option("--questions", "questions_path", type=click.Path(), help="CLEVR questions JSON.")
@scenes_option("A CLEVR scenes JSON file: the questions' scenes; a suite's scene() reads "
               "scene --index of it.")
@click.option("--images", "images_dir", type=click.Path(), help="Folder of the questions' images.")
@world_option("A world folder (from `clevr world make`, or CLEVR v1.0): the questions, "
              "scenes and images of its --split, for questions or a SUITE.")
@split_option()
@click.option("--backend", "backend_spec", default="symbolic", show_default=True,
              help="Back end(s), comma separated.")
@click.option("--predictions", "predictions_path", type=click.Path(),
              help="Write {'predictions': [...]} (one file per back end when several).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N questions.")
@index_option("Suite: which scene of --scenes (or image of --world) scene() reads.")
@click.option("--image", "image_path", type=click.Path(), help="Suite: image for scene().")
@click.option("--junit", "junit_path", type=click.Path(), help="Suite: write a JUnit XML report.")
@click.option("--json", "json_out", is_flag=True, help="Print results as JSON.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--model", "--checkpoint", "model", default=None, type=click.Path(exists=True),
              help="Artefact folder (engineered) or checkpoint (learned) instead of the default.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--ablate", "ablate_out", default=None, type=click.Path(dir_okay=False),
              metavar="PNG", help="Engineered: replace each perception component by the truth "
              "(from --scenes) in turn; print the table and write it as PNG.")
@click.option("--explain", "explain_dir", default=None, type=click.Path(file_okay=False),
              help="Learned: write a saliency PNG per question into this folder.")
@click.option("--programs", "program_source", type=click.Choice(["given", "predicted"]),
              default="given", show_default=True,
              help="Run the file's programs, or the program generator's reading of each "
                   "question's text (also reports exact program match).")
@click.option("--generator", "generator_path", type=click.Path(), default=None,
              help="With --programs predicted: a file from `clevr train programs` [default: "
                   "the installed one].")
@quiet_option
def eval_command(suite, questions_path, scenes_path, images_dir, world_dir, split, backend_spec,
                 predictions_path, limit, index, image_path, junit_path, json_out, force, model,
                 device, ablate_out, explain_dir, program_source, generator_path, quiet):
    """Evaluate back ends on a CLEVR questions file, or run a .clv SUITE of expectations.

    A suite exits 1 when an expectation fails on any back end.
    """
    backends = _backends(backend_spec)
    if world_dir:
        from clevrlang.world.layout import world_files

        refuse_clash(world_dir, questions=questions_path, scenes=scenes_path, images=images_dir)
        w = world_files(world_dir, split)
        questions_path, scenes_path, images_dir = w.questions, w.scenes, w.images
    if suite:
        from clevrlang.suite import run_suite

        ok = run_suite(suite, backends, scene_path=scenes_path, index=index,
                       image_path=image_path, images_dir=images_dir, junit_path=junit_path,
                       json_out=json_out, force=force, echo=click.echo)
        click.get_current_context().exit(ExitCode.OK if ok else ExitCode.FAILED)
    if not questions_path:
        raise UsageError("give a SUITE.clv, --questions Q.json or --world DIR"
                         + (f" (split {split!r} has no questions file)" if world_dir else ""))
    progress = not (json_out or quiet)
    options = {b: _backend_options(b, model, device) for b in backends}
    if model and sum(b != "symbolic" for b in backends) > 1:
        raise UsageError("--model names one back end's model; give one perception back end")
    outputs = list(_prediction_paths(predictions_path, backends).values())
    _refuse_overwrite(outputs + ([ablate_out] if ablate_out else []), force)
    if program_source == "given" and not (ablate_out or explain_dir):
        _eval_file(questions_path, scenes_path, images_dir, backends, predictions_path,
                   json_out, limit, options, progress)
        return
    from clevrlang.datafiles import load_questions, load_scenes

    questions = load_questions(questions_path)[:limit]
    scenes = load_scenes(scenes_path) if scenes_path else None
    exact = None
    if program_source == "predicted":
        questions, exact = _predicted(questions, generator_path, progress)
    _eval_questions(questions_path, questions, scenes, images_dir, backends, predictions_path,
                    json_out, force, options, progress, exact)
    if ablate_out:
        _ablate(questions, scenes, images_dir, options, ablate_out, force, json_out, progress)
    if explain_dir:
        _explain(questions, images_dir, options, explain_dir, progress)


def _predicted(questions, generator_path, progress):
    """The questions with the program generator's programs, and the exact-match count."""
    from clevrlang.asking import ProgramGenerator, default_generator, predict_questions

    missing = [q.index for q in questions if q.program is None]
    if missing:  # exact match needs the given programs
        raise UsageError(f"{len(missing)} question(s) have no program (e.g. question "
                         f"{missing[0]}) to compare the predicted ones with")
    gen = ProgramGenerator(generator_path) if generator_path else default_generator()
    return predict_questions(questions, gen, progress=progress)


def _prediction_paths(predictions_path, backends) -> dict[str, str]:
    """Back end -> its predictions file (``P_<backend>.json`` when there are several)."""
    if not predictions_path:
        return {}
    if len(backends) == 1:
        return {backends[0]: predictions_path}
    stem, ext = os.path.splitext(predictions_path)
    return {b: f"{stem}_{b}{ext or '.json'}" for b in backends}


def _refuse_overwrite(paths, force: bool) -> None:
    """Checked before anything runs: a long evaluation must not end in "exists"."""
    for path in paths:
        if os.path.exists(path) and not force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")


def _backend_options(name: str, model, device: str) -> dict:
    if name == "symbolic":
        return {}
    return {"device": device, **({"model": model} if model else {})}


def _ablate(questions, scenes, images_dir, options, png, force, json_out, progress):
    """The engineered back end's ablation on the same questions (truth from --scenes)."""
    from clevrlang.backends import get_backend
    from clevrlang.datafiles import scene_for
    from clevrlang.evaluation import find_image
    from clevrlang.modules.engineered.training.ablation import ablate, format_table
    from clevrlang.modules.engineered.training.samples import Sample

    if scenes is None or not images_dir:
        raise UsageError("--ablate needs --scenes (the truth) and --images")
    if os.path.exists(png) and not force:
        raise UsageError(f"{png} exists; pass --force to overwrite it")
    by_name = {s.image_filename: s for s in scenes}
    samples, seen = [], set()
    for q in questions:
        scene = scene_for(q, scenes, by_name)
        if id(scene) not in seen:
            seen.add(id(scene))
            samples.append(Sample(scene.raw, path=find_image(images_dir, q)))
    backend = get_backend("engineered", **options.get("engineered", {}))
    result = ablate(backend, samples=samples, questions=questions, png=png,
                    progress=progress)
    if json_out:
        click.echo(json.dumps({"ablation": result}, indent=2))
    else:
        click.echo(format_table(result))
        click.echo(f"wrote {png}")


def _explain(questions, images_dir, options, out_dir, progress):
    """A saliency PNG per question with the learned back end."""
    from pathlib import Path

    from tqdm.auto import tqdm

    from clevrlang.backends import get_backend
    from clevrlang.evaluation import find_image

    if not images_dir:
        raise UsageError("--explain needs --images")
    backend = get_backend("learned", **options.get("learned", {}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for q in tqdm(questions, desc="explain", unit="q", disable=not progress):
        backend.explain(q.program, find_image(images_dir, q),
                        out / f"question_{q.question_index:06d}.png")
    click.echo(f"wrote {len(questions)} PNGs to {out}")


def _refuse_missing(missing: list[int]) -> None:
    if missing:
        raise UsageError(f"{len(missing)} question(s) have no program (e.g. question {missing[0]})")


def _eval_file(questions_path, scenes_path, images_dir, backends, predictions_path, json_out,
               limit, options, progress):
    """The file's questions a chunk at a time: memory does not grow with the split."""
    from clevrlang.eval_stream import evaluate_file
    from clevrlang.question_stream import QuestionFile

    questions = QuestionFile(questions_path, limit)
    _refuse_missing(questions.missing)
    results, asked = evaluate_file(backends, questions, scenes_path, images_dir, options,
                                   progress=progress)
    _report(results, asked, questions_path, backends, predictions_path, json_out)


def _eval_questions(questions_path, questions, scenes, images_dir, backends, predictions_path,
                    json_out, force, options=None, progress=True, exact=None):
    from clevrlang.evaluation import evaluate

    _refuse_missing([q.index for q in questions if q.program is None])
    results = evaluate(backends, questions, scenes, images_dir, options=options,
                       progress=progress and not json_out)
    _report(results, questions, questions_path, backends, predictions_path, json_out, exact)


def _report(results, questions, questions_path, backends, predictions_path, json_out,
            exact=None):
    """Predictions files, then the table (or JSON); ``questions`` need ``question_index``."""
    from rich.console import Console

    paths = _prediction_paths(predictions_path, backends)
    for r in results:
        if r.backend in paths:
            from clevrlang.atomic import write_text

            write_text(paths[r.backend], json.dumps(r.predictions_json(questions)))
    if json_out:
        out = {r.backend: r.table.to_dict() for r in results}
        if exact is not None:
            out["programs"] = {"source": "predicted", "exact_match": exact,
                               "total": len(questions)}
        click.echo(json.dumps(out, indent=2))
        return
    console = Console(width=160)
    console.print(_table(results, f"{len(questions)} questions from {questions_path}"))
    if exact is not None:
        console.print(f"predicted programs: {100 * exact / max(1, len(questions)):.2f}% exact "
                      f"match ({exact}/{len(questions)})")
    for r in results:
        console.print(f"{r.backend}: {100 * r.table.overall:.2f}% correct "
                      f"({r.table.correct}/{r.table.total})")
    for r in results:
        failed = sum(1 for p in r.predictions if not isinstance(p, str))
        if failed:
            console.print(f"{r.backend}: {failed} question(s) could not run on their input")
