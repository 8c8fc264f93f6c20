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
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from clevrlang.eval_stream import CHUNK
from clevrlang.evaluation import AccuracyTable, answer_questions
from clevrlang.question_stream import QuestionFile
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
    questions: list  # Asked: each answered question, in file order
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


class Asked(NamedTuple):
    """What a comparison keeps of a question once every back end answered it (its report
    names the question, its image and its answer): ~300 B, not the ~8 KB of a loaded
    question and its program."""

    question_index: int
    question_type: str
    answer: str
    text: str
    image_filename: str


def _answered(questions: QuestionFile, limit: int | None, chunk: int):
    """The file's answered questions (the first ``limit``), a chunk at a time."""
    left = limit
    for part in questions.chunks(chunk):
        part = [q for q in part if q.answer is not None][:left]
        if part:
            yield part
        if left is not None:
            left -= len(part)
            if left <= 0:
                return


def run_comparison(world_dir: str, split: str = "val", backends=None, compress=(),
                   limit: int | None = None, progress: bool = True,
                   chunk: int = CHUNK) -> Comparison:
    """Every back end (and, for those reading images, each ``(codec, budget)`` of
    ``compress``) on the split's answered questions. The questions are read ``chunk`` at a
    time, each chunk answered by every row and dropped (:mod:`clevrlang.eval_stream`), so
    memory does not grow with the split."""
    from tqdm.auto import tqdm

    from clevrlang.backends import available_backends, get_backend
    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    path = world.questions_path(split)
    if not path.is_file():
        world.questions(split)  # the error it is: no such split, or no questions file
    questions = QuestionFile(path)
    scenes = None
    rows: list[tuple[Row, object, dict]] = []
    for name in backends or available_backends():
        backend = get_backend(name)
        if backend.needs == "scenes" and scenes is None and world.has_scenes(split):
            scenes = world.scenes(split)
        variants = [(None, None)] + (list(compress) if backend.needs == "images" else [])
        for codec, budget in variants:
            label = f"{backend.name}+{codec}@{budget}B" if codec else backend.name
            rows.append((Row(label, name, codec, budget, [], AccuracyTable()), backend, {}))
    images_dir = str(world.root)
    asked: list[Asked] = []
    total = len(questions) if limit is None else min(limit, len(questions))
    with tqdm(total=total, desc="compare", unit="q", disable=not progress) as bar:
        for part in _answered(questions, limit, chunk):
            for row, backend, sizes in rows:
                # The same path as clevr eval; compressed questions read their own images.
                programs = (compressed_programs(part, images_dir, row.codec, row.budget)
                            if row.codec else None)
                row.predictions += answer_questions(backend, part, scenes, images_dir,
                                                    batch=chunk, programs=programs,
                                                    nbytes=sizes)
            asked += [Asked(q.question_index, q.question_type and sys.intern(q.question_type),
                            sys.intern(q.answer), q.text, sys.intern(q.image_filename or ""))
                      for q in part]
            bar.update(len(part))
    if not asked:
        raise UsageError(f"{world_dir}: split {split!r} has no answered questions")
    types = [q.question_type for q in asked]
    expected = [q.answer for q in asked]
    cmp = Comparison(split, asked)
    for row, _, sizes in rows:
        row.table = AccuracyTable.from_answers(types, row.predictions, expected)
        row.mean_bytes = sum(sizes.values()) / len(sizes) if sizes else None
        cmp.rows.append(row)
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
