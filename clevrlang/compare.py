"""``clevr compare``: every back end (and each under compression) on world splits.

Writes a report folder: ``README.md`` (the seed-style 13-column table, the engineered
ablation when available, confusion of wrong answers, questions where the back ends
disagree), ``results.json`` and PNG charts (accuracy per question type; accuracy vs bytes
per codec). The numbers come from :mod:`clevrlang.evaluation`, the same code as
``clevr eval``. A back end can be compared with models other than its installed one
(``models``: several models of one back end are several rows), and on several worlds at
once (:func:`compare_worlds`, e.g. CoGenT's valA and valB): the report then puts each row's
accuracy per world side by side, with each world's table per question type below.
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
    world: str | None = None  # the world folder, in a comparison of several

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


DEFAULT_MODEL = "default"  # --model BACKEND=default: the installed model, beside others


def parse_models(specs) -> dict[str, list[str | None]]:
    """``["learned=A/model.safetensors", "learned=default"]`` -> ``{"learned": [path, None]}``
    (None: the installed model), in the order given."""
    from clevrlang.backends import check_name

    out: dict[str, list[str | None]] = {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        if not eq or not path:
            raise UsageError(f"--model takes BACKEND=PATH (e.g. learned=runs/A/model."
                             f"safetensors, or BACKEND={DEFAULT_MODEL}), got {spec!r}")
        check_name(name)
        if path != DEFAULT_MODEL and not os.path.exists(path):
            raise UsageError(f"--model {spec}: no such file or folder {path!r}")
        out.setdefault(name, []).append(None if path == DEFAULT_MODEL else path)
    return out


def model_tag(path: str | None) -> str:
    """A row's short name for a model: its folder for ``.../model.safetensors`` (and
    ``best``/``last``), else its file or folder name."""
    if path is None:
        return DEFAULT_MODEL
    p = os.path.normpath(path)
    stem = os.path.splitext(os.path.basename(p))[0]
    if os.path.isfile(p) and stem in ("model", "best", "last"):
        return os.path.basename(os.path.dirname(os.path.abspath(p))) or stem
    return stem


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


@dataclass
class _Contender:
    """One row to fill: a back end (with one of its models), maybe behind a codec."""

    label: str
    name: str
    backend: object
    codec: str | None = None
    budget: int | None = None


def contenders(backends=None, compress=(), models=None) -> list[_Contender]:
    """The rows of a comparison, back ends built once: each back end once per model of
    ``models`` (its installed one when it has none there), plain and then through each
    ``(codec, budget)`` when it reads images."""
    from clevrlang.backends import available_backends, get_backend

    models = models or {}
    names = list(backends or available_backends())
    for name in models:
        if name not in names:
            raise UsageError(f"--model names a {name} model, but the {name} back end is not "
                             f"compared (back ends: {', '.join(names)})")
    out = []
    for name in names:
        several = len(models.get(name, [])) > 1 or any(models.get(name, []))
        for model in models.get(name, [None]):
            backend = get_backend(name, **({"model": model} if model else {}))
            base = f"{backend.name}:{model_tag(model)}" if several else backend.name
            variants = [(None, None)] + (list(compress) if backend.needs == "images" else [])
            for codec, budget in variants:
                label = f"{base}+{codec}@{budget}B" if codec else base
                out.append(_Contender(label, name, backend, codec, budget))
    labels = [c.label for c in out]
    if len(set(labels)) < len(labels):
        twice = sorted({x for x in labels if labels.count(x) > 1})
        raise UsageError(f"two rows would be called {twice[0]!r}: give the models different "
                         "file or folder names")
    return out


def run_comparison(world_dir: str, split: str = "val", backends=None, compress=(),
                   limit: int | None = None, progress: bool = True,
                   chunk: int = CHUNK, models=None, rows=None) -> Comparison:
    """Every back end (and, for those reading images, each ``(codec, budget)`` of
    ``compress``; each model of ``models``, ``{back end: [paths]}``) on the split's answered
    questions. The questions are read ``chunk`` at a time, each chunk answered by every row
    and dropped (:mod:`clevrlang.eval_stream`), so memory does not grow with the split.
    ``rows``: :func:`contenders` already built (instead of ``backends``/``compress``/``models``)."""
    from tqdm.auto import tqdm

    from clevrlang.world.layout import open_world

    world = open_world(world_dir)
    path = world.questions_path(split)
    if not path.is_file():
        world.questions(split)  # the error it is: no such split, or no questions file
    questions = QuestionFile(path)
    filling = [(Row(c.label, c.name, c.codec, c.budget, [], AccuracyTable()), c.backend, {})
               for c in (rows or contenders(backends, compress, models))]
    scenes = None
    if any(b.needs == "scenes" for _, b, _ in filling) and world.has_scenes(split):
        scenes = world.scenes(split)
    images_dir = str(world.root)
    asked: list[Asked] = []
    total = len(questions) if limit is None else min(limit, len(questions))
    with tqdm(total=total, desc="compare", unit="q", disable=not progress) as bar:
        for part in _answered(questions, limit, chunk):
            for row, backend, sizes in filling:
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
    for row, _, sizes in filling:
        row.table = AccuracyTable.from_answers(types, row.predictions, expected)
        row.mean_bytes = sum(sizes.values()) / len(sizes) if sizes else None
        cmp.rows.append(row)
    return cmp


def world_labels(world_dirs) -> list[str]:
    """Each world's name in a report: its folder's name (``#k`` added to repeated names)."""
    names = [os.path.basename(os.path.normpath(str(w))) or str(w) for w in world_dirs]
    return [f"{n}#{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def compare_worlds(world_dirs, splits=("val",), backends=None, compress=(),
                   limit: int | None = None, progress: bool = True, chunk: int = CHUNK,
                   models=None) -> dict[str, Comparison]:
    """:func:`run_comparison` on each split of each world with the same rows (models loaded
    once), by name: the world's (:func:`world_labels`) with one split, the split's with one
    world, ``world/split`` otherwise (CoGenT: ``--split valA,valB`` of one world)."""
    rows = contenders(backends, compress, models)
    out = {}
    for name, world in zip(world_labels(world_dirs), world_dirs):
        for split in splits:
            label = name if len(splits) == 1 else split if len(world_dirs) == 1 \
                else f"{name}/{split}"
            out[label] = run_comparison(str(world), split, limit=limit, progress=progress,
                                        chunk=chunk, rows=rows)
            out[label].world = str(world)
    return out


def _worlds_table(cmps: dict[str, Comparison]) -> str:
    """Each row's overall accuracy (%) per world, side by side."""
    first = next(iter(cmps.values()))
    head = ["back end", *(f"{w} ({len(c.questions)} q)" for w, c in cmps.items())]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, row in enumerate(first.rows):
        cells = [f"{100 * c.rows[k].table.overall:.2f}" for c in cmps.values()]
        lines.append("| " + " | ".join([row.label, *cells]) + " |")
    return "\n".join(lines)


def write_worlds_report(cmps: dict[str, Comparison], out_dir: str) -> str:
    """The report of :func:`compare_worlds`: the rows' accuracy per world and split, a chart
    of it, then each one's table per question type and wrong answers; ``results.json`` by
    the same names."""
    os.makedirs(out_dir, exist_ok=True)
    chart = _worlds_chart(cmps, out_dir)
    parts = [f"# clevrlang comparison on {len(cmps)} world splits", "",
             "Accuracy in %: " + ", ".join(f"{w} is split {c.split} of {c.world}"
                                          for w, c in cmps.items()) + ".", "",
             _worlds_table(cmps), "", f"![{chart}]({chart})", ""]
    for w, cmp in cmps.items():
        parts += [f"## {w}", "", f"{len(cmp.questions)} questions; accuracy in % per CLEVR "
                  "question type.", "", _markdown_table(cmp.rows), "",
                  "Wrong answers (expected -> predicted):", "", _confusions(cmp), ""]
    readme = os.path.join(out_dir, "README.md")
    _write(readme, "\n".join(parts))
    results = {w: {"world": c.world, "split": c.split, **_results(c)} for w, c in cmps.items()}
    _write(os.path.join(out_dir, "results.json"), json.dumps(results, indent=2))
    return readme


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
    _write(os.path.join(out_dir, "results.json"), json.dumps(_results(cmp), indent=2))
    return readme


def _results(cmp: Comparison) -> dict:
    return {r.label: {**r.table.to_dict(), "backend": r.backend, "codec": r.codec,
                      "budget": r.budget, "mean_bytes": r.mean_bytes} for r in cmp.rows}


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


def _worlds_chart(cmps: dict[str, Comparison], out_dir: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [r.label for r in next(iter(cmps.values())).rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels) * len(cmps) ** 0.5 + 3), 4))
    width = 0.8 / len(cmps)
    x = np.arange(len(labels))
    for k, (w, cmp) in enumerate(cmps.items()):
        vals = [100 * r.table.overall for r in cmp.rows]
        bars = ax.bar(x + k * width, vals, width, label=w)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(x + width * (len(cmps) - 1) / 2, labels, rotation=20)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Accuracy per world")
    fig.tight_layout()
    name = "accuracy_by_world.png"
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)
    return name
