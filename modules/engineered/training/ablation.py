"""The ablation report: each perception component replaced by the truth, in turn.

Like the hand-engineered pipeline's table in the seed paper: for every component (detection,
shape, colour, material, size, depth) the world's true value replaces the model's, and QA
accuracy is measured again; a first row has nothing replaced and a last row everything. The
components' own accuracies (detection precision/recall at IoU 0.5, attribute accuracies,
position and depth errors) come with it. The detector runs once; every row reuses its boxes.

>>> result = ablate("model", "world", split="val", limit=200)  # a world; minutes  # doctest: +SKIP
>>> print(format_table(result))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from clevrlang.modules.engineered.perception import COMPONENTS

log = logging.getLogger(__name__)


def _perception(model, device):
    from clevrlang.modules.engineered.artefacts import default_dir
    from clevrlang.modules.engineered.perception import Perception

    if isinstance(model, Perception):
        return model
    if hasattr(model, "perception"):
        return model.perception
    return Perception.load(Path(model) if model is not None else default_dir(), device)


def _questions_for(world, split, samples):
    from clevrlang.world.layout import open_world

    w = open_world(world)
    if not w.has_questions(split):
        return []
    wanted = {s.scene.get("image_index") for s in samples}
    return [q for q in w.questions(split) if q.image_index in wanted and q.answer is not None]


def ablate(model=None, world=None, split: str = "val", *, samples=None, questions=None,
           limit: int | None = None, components=COMPONENTS, device: str = "auto",
           png: str | os.PathLike | None = None, progress: bool = True) -> dict:
    """QA accuracy with each component replaced by the truth, and component accuracies.

    ``model``: an artefact folder, a Perception or an EngineeredBackend (default: the
    installed one). Data: a ``world`` folder's ``split`` (its questions, when it has them),
    or ``samples`` (:class:`~.samples.Sample`) and ``questions`` (:class:`clevrlang.datafiles.
    Question`). Without questions the table still shows the share of exact scene graphs.
    """
    from tqdm.auto import tqdm

    from clevrlang.modules.engineered.training.evaluate import component_metrics
    from clevrlang.modules.engineered.training.samples import world_samples

    perception = _perception(model, device)
    if samples is None:
        samples = world_samples(world, split, limit)
        if questions is None:
            questions = _questions_for(world, split, samples)
    questions = questions or []
    images = [s.image() for s in samples]
    truth = [s.scene for s in samples]
    sizes = [s.size() for s in samples]
    cams = perception.cameras(images)
    detected = perception.detect(images)
    variants = [("none", ())] + [(c, (c,)) for c in components] + [("all", tuple(components))]
    rows, per_variant = [], {}
    for name, replace in tqdm(variants, desc="ablation", disable=not progress):
        found = perception.true_boxes(images, truth) if "detection" in replace else detected
        scenes = perception.describe(images, found, cams, truth, replace)
        metrics = component_metrics(scenes, truth, sizes)
        per_variant[name] = metrics
        row = {"replaced": name, "scene_exact": metrics["scene_exact"]}
        row.update(_qa(scenes, samples, questions))
        rows.append(row)
        log.info("ablation %s: %s", name, row)
    result = {"images": len(samples), "questions": len(questions), "rows": rows,
              "components": per_variant["none"]}
    if png is not None:
        plot(result, png)
    return result


def _qa(scenes, samples, questions) -> dict:
    if not questions:
        return {"qa_accuracy": None, "by_type": {}}
    from clevrlang.modules.engineered.training.evaluate import qa_accuracy
    from clevrlang.modules.symbolic_plan import execute
    from clevrlang.scene import Scene

    built = {s.scene.get("image_index", i): Scene(p, i, where="predicted scene")
             for i, (s, p) in enumerate(zip(samples, scenes))}
    answers = execute([q.program.node for q in questions], [built[q.image_index] for q in questions])
    qa = qa_accuracy(answers, questions)
    return {"qa_accuracy": qa["accuracy"], "by_type": qa["by_type"]}


def format_table(result: dict) -> str:
    """The ablation as a text table (QA accuracy per question type, exact scenes)."""
    from clevrlang.language.vocabulary import QUESTION_TYPE_LABELS, QUESTION_TYPES

    types = [t for t in QUESTION_TYPES if any(r["by_type"].get(t) is not None
                                                for r in result["rows"])]
    head = f"{'GT for':<10} {'QA':>6} " + " ".join(f"{QUESTION_TYPE_LABELS[t]:>7}"
                                                   for t in types) + f" {'scenes':>7}"
    lines = [f"{result['images']} images, {result['questions']} questions", head]
    pct = lambda v: f"{100 * v:6.2f}" if v is not None else "     -"  # noqa: E731
    for r in result["rows"]:
        lines.append(f"{r['replaced']:<10} {pct(r['qa_accuracy'])} "
                     + " ".join(f"{pct(r['by_type'].get(t)):>7}" for t in types)
                     + f" {pct(r['scene_exact']):>7}")
    c = result["components"]
    lines.append("components: " + ", ".join(
        f"{k.replace('_accuracy', '')} {100 * v:.2f}%" if isinstance(v, float) and k.endswith(
            ("accuracy", "precision", "recall", "exact")) else f"{k} {v}"
        for k, v in c.items() if k not in ("images",)))
    return "\n".join(lines)


def plot(result: dict, path: str | os.PathLike) -> Path:
    """A PNG: QA accuracy (or exact scenes) per replaced component, and the component table."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clevrlang.atomic import write_atomic

    rows = result["rows"]
    key = "qa_accuracy" if rows and rows[0]["qa_accuracy"] is not None else "scene_exact"
    names = [r["replaced"] for r in rows]
    values = [100 * (r[key] or 0) for r in rows]
    fig, (ax, tab) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    bars = ax.bar(names, values, color=["#777"] + ["#4a7"] * (len(rows) - 2) + ["#47a"])
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(min(values + [90]) - 2, 100.5)
    ax.set_ylabel("QA accuracy (%)" if key == "qa_accuracy" else "exact scene graphs (%)")
    ax.set_title(f"ground truth for one component ({result['images']} images)")
    comp = result["components"]
    cells = [[k, f"{v:.4f}" if isinstance(v, float) else str(v)] for k, v in comp.items()]
    tab.axis("off")
    tab.table(cellText=cells, colLabels=["component", "value"], loc="center").scale(1, 1.2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return write_atomic(Path(path), buf.getvalue())
