"""``clevr compare``: every back end (and each under compression) on one world split.

Writes a report folder: ``README.md`` (the seed-style 13-column table, the engineered
ablation when available, confusion of wrong answers, questions where the back ends
disagree), ``results.json`` and PNG charts (accuracy per question type; accuracy vs bytes
per codec). The numbers come from :mod:`clevrlang.evaluation`, the same code as
``clevr eval``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

from clevrlang.evaluation import AccuracyTable, answer_questions
from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import QUESTION_TYPE_LABELS, QUESTION_TYPES


@dataclass
class Row:
    label: str  # "learned", "engineered+jpeg@128B"
    backend: str
    codec: str | None
    budget: int | None
    predictions: list
    table: AccuracyTable
    mean_bytes: float | None = None  # per distinct image: each code's header-less payload


@dataclass
class Comparison:
    split: str
    questions: list
    rows: list[Row] = field(default_factory=list)
    ablation: str | None = None  # Markdown from the engineered back end, when it has one

    def chart_pngs(self) -> list[bytes]:
        """The report's charts as PNG bytes (written to a scratch folder, then read)."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as scratch:
            return [Path(scratch, name).read_bytes() for name in _charts(self, scratch)]

    def _repr_html_(self) -> str:  # Jupyter: the table, then the charts
        from clevrlang.notebook.display import comparison_html

        return comparison_html(self, self.chart_pngs())

    def _repr_markdown_(self) -> str:
        return _markdown_table(self.rows)


def parse_compress(specs) -> list[tuple[str, int]]:
    """``["jpeg:128", "conv_lstm:64"]`` -> ``[("jpeg", 128), ("conv_lstm", 64)]``."""
    out = []
    for spec in specs:
        name, _, budget = spec.partition(":")
        if not budget.isdigit() or int(budget) <= 0:
            raise UsageError(f"--compress takes CODEC:BYTES (e.g. jpeg:128), got {spec!r}")
        from clevrlang.language.vocabulary import ENUMS, Type

        if name not in ENUMS[Type.CODEC]:
            raise UsageError(f"unknown codec {name!r}; codecs: {', '.join(ENUMS[Type.CODEC])}")
        out.append((name, int(budget)))
    return out


def compressed_programs(questions: list, images_dir: str, codec: str, budget: int) -> list:
    """Each question's program on its image through the codec, as one expression:
    ``load(<its image>) |> compress[codec, bytes=budget] |> scene |> <its program>``."""
    from clevrlang.evaluation import find_image
    from clevrlang.image_pass import substitute, with_image
    from clevrlang.language.ir import Node
    from clevrlang.language.program import parse
    from clevrlang.language.vocabulary import Type

    template = parse(f'load("") |> compress[{codec}, bytes={budget}]').node
    blank = Node.const("", Type.STR)
    images: dict[str, Node] = {}
    out = []
    for q in questions:
        path = find_image(images_dir, q)
        if path not in images:
            images[path] = substitute(template, {blank: Node.const(path, Type.STR)})
        out.append(with_image(q.program.node, images[path]))
    return out


def run_comparison(world_dir: str, split: str = "val", backends=None, compress=(),
                   limit: int | None = None, progress: bool = True) -> Comparison:
    from clevrlang.backends import available_backends, get_backend
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    questions = [q for q in world.questions(split) if q.answer is not None][:limit]
    if not questions:
        raise UsageError(f"{world_dir}: split {split!r} has no answered questions")
    scenes = world.scenes(split) if world.has_scenes(split) else None
    names = backends or available_backends()
    cmp = Comparison(split, questions)
    types = [q.question_type for q in questions]
    expected = [q.answer for q in questions]
    images_dir = str(world.root) if hasattr(world, "root") else world_dir
    for name in names:
        backend = get_backend(name)
        variants = [(None, None)]
        if backend.needs == "images":
            variants += list(compress)
        for codec, budget in variants:
            # The same path as clevr eval; compressed questions read their own images.
            programs = compressed_programs(questions, images_dir, codec, budget) if codec else None
            sizes: dict = {}
            preds = answer_questions(backend, questions, scenes, images_dir, progress=progress,
                                     programs=programs, nbytes=sizes)
            label = f"{backend.name}+{codec}@{budget}B" if codec else backend.name
            cmp.rows.append(Row(label, name, codec, budget, preds,
                                AccuracyTable.from_answers(types, preds, expected),
                                sum(sizes.values()) / len(sizes) if sizes else None))
    return cmp


def _markdown_table(rows: list[Row]) -> str:
    head = ["back end"] + AccuracyTable.header()
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([r.label] + r.table.row()) + " |")
    return "\n".join(lines)


def _confusions(cmp: Comparison, top: int = 8) -> str:
    out = []
    for r in cmp.rows:
        wrong = Counter((q.answer, p if isinstance(p, str) else "(failed)")
                        for q, p in zip(cmp.questions, r.predictions)
                        if p != q.answer)
        if not wrong:
            continue
        pairs = ", ".join(f"{e} -> {p} ({n})" for (e, p), n in wrong.most_common(top))
        out.append(f"* **{r.label}**: {pairs}")
    return "\n".join(out) or "No wrong answers."


def _disagreements(cmp: Comparison, top: int = 15) -> str:
    plain = [r for r in cmp.rows if r.codec is None]
    if len(plain) < 2:
        return "Only one back end ran."
    lines = ["| question | image | truth | " + " | ".join(r.label for r in plain) + " |",
             "|---|---|---|" + "---|" * len(plain)]
    n = 0
    for i, q in enumerate(cmp.questions):
        answers = [r.predictions[i] if isinstance(r.predictions[i], str) else "(failed)"
                   for r in plain]
        if len(set(answers)) > 1:
            n += 1
            if n <= top:
                text = q.text.replace("|", "/")
                lines.append(f"| {text} | {q.image_filename} | {q.answer} | "
                             + " | ".join(answers) + " |")
    return f"{n} of {len(cmp.questions)} questions get different answers.\n\n" + "\n".join(lines)


def write_report(cmp: Comparison, out_dir: str, world_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    charts = _charts(cmp, out_dir)
    parts = [f"# clevrlang comparison: {world_dir}, split {cmp.split}", "",
             f"{len(cmp.questions)} questions; accuracy in % per CLEVR question type.", "",
             _markdown_table(cmp.rows), ""]
    parts += [f"![{c}]({c})" for c in charts] + [""]
    if cmp.ablation:
        parts += ["## Engineered back end: ablation", "", cmp.ablation, ""]
    parts += ["## Wrong answers (expected -> predicted)", "", _confusions(cmp), "",
              "## Where the back ends disagree", "", _disagreements(cmp), ""]
    readme = os.path.join(out_dir, "README.md")
    _write(readme, "\n".join(parts))
    results = {r.label: {**r.table.to_dict(), "backend": r.backend, "codec": r.codec,
                         "budget": r.budget, "mean_bytes": r.mean_bytes} for r in cmp.rows}
    _write(os.path.join(out_dir, "results.json"), json.dumps(results, indent=2))
    return readme


def _write(path: str, text: str) -> None:
    from clevrlang.atomic import write_text

    write_text(path, text)


def _charts(cmp: Comparison, out_dir: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = []
    plain = [r for r in cmp.rows if r.codec is None]
    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / max(1, len(plain))
    x = np.arange(len(QUESTION_TYPES) + 1)
    for k, r in enumerate(plain):
        vals = [r.table.overall] + [r.table.accuracy(q) for q in QUESTION_TYPES]
        ax.bar(x + k * width, [100 * (v if v == v else 0) for v in vals], width, label=r.label)
    ax.set_xticks(x + width * (len(plain) - 1) / 2,
                  ["Overall"] + [QUESTION_TYPE_LABELS[q] for q in QUESTION_TYPES], rotation=30)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    # Outside the axes: every column can reach 100 %, so no corner inside is free.
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"Accuracy per question type ({len(cmp.questions)} questions)")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "accuracy_by_type.png"), dpi=110)
    plt.close(fig)
    names.append("accuracy_by_type.png")
    compressed = [r for r in cmp.rows if r.codec is not None]
    if compressed:
        fig, ax = plt.subplots(figsize=(8, 4))
        for (backend, codec) in sorted({(r.backend, r.codec) for r in compressed}):
            pts = sorted((r.mean_bytes, 100 * r.table.overall) for r in compressed
                         if r.backend == backend and r.codec == codec)
            ax.plot(*zip(*pts), marker="o", label=f"{backend} + {codec}")
        for r in plain:
            if r.backend in {c.backend for c in compressed}:
                ax.axhline(100 * r.table.overall, linestyle=":", color="gray")
        ax.set_xlabel("bytes per image (header-less payload)")
        ax.set_ylabel("accuracy (%)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title("Compress, then answer")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "accuracy_vs_bytes.png"), dpi=110)
        plt.close(fig)
        names.append("accuracy_vs_bytes.png")
    return names
