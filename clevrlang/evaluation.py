"""Answering CLEVR question files with back ends, and accuracy per question type.

>>> t = AccuracyTable.from_answers(["count", "exist"], ["2", "yes"], ["2", "no"])
>>> round(t.overall, 2), t.by_type["count"]
(0.5, (1, 1))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from clevrlang.datafiles import Question, scene_for
from clevrlang.language.errors import DataError, MissingFileError, UsageError, clip
from clevrlang.language.ir import Node
from clevrlang.language.vocabulary import QUESTION_TYPE_LABELS, QUESTION_TYPES
from clevrlang.runtime import Failure


@dataclass
class AccuracyTable:
    """Correct/total overall and per CLEVR question type (the papers' 13 columns)."""

    correct: int = 0
    total: int = 0
    by_type: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def from_answers(cls, types, predicted, expected) -> "AccuracyTable":
        t = cls()
        for qt, p, e in zip(types, predicted, expected):
            if e is None:
                continue
            ok = int(isinstance(p, str) and p == e)
            c, n = t.by_type.get(qt, (0, 0))
            t.by_type[qt] = (c + ok, n + 1)
            t.correct += ok
            t.total += 1
        return t

    @property
    def overall(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def accuracy(self, qtype: str) -> float:
        c, n = self.by_type.get(qtype, (0, 0))
        return c / n if n else float("nan")

    def row(self) -> list[str]:
        """Overall then the 13 types, as percentages ("-" where a type has no question)."""
        cells = [self.overall] + [self.accuracy(q) for q in QUESTION_TYPES]
        return ["-" if c != c else f"{100 * c:.2f}" for c in cells]

    @staticmethod
    def header() -> list[str]:
        return ["Overall"] + [QUESTION_TYPE_LABELS[q] for q in QUESTION_TYPES]

    def to_dict(self) -> dict:
        return {"overall": self.overall, "correct": self.correct, "total": self.total,
                "by_type": {q: {"correct": c, "total": n} for q, (c, n) in self.by_type.items()}}


@dataclass
class EvalResult:
    backend: str
    predictions: list  # str answers or Failure, one per question
    table: AccuracyTable

    def _repr_html_(self) -> str:  # Jupyter: the accuracy row
        from clevrlang.notebook.display import eval_html

        return eval_html(self)

    def predictions_json(self, questions: list[Question]) -> dict:
        return {"predictions": [
            {"question_index": q.question_index,
             "answer": p if isinstance(p, str) else None,
             **({"error": str(p)} if isinstance(p, Failure) else {})}
            for q, p in zip(questions, self.predictions)]}


def find_image(images_dir: str, q: Question) -> str:
    """The image file of a question under DIR, DIR/<split>/ or DIR/images/<split>/."""
    name = q.image_filename
    if not name:
        raise DataError(f"question {q.index} names no image_filename", where=q.where)
    split = q.raw.get("split") or q.info.get("split") or ""
    for cand in (os.path.join(images_dir, name), os.path.join(images_dir, split, name),
                 os.path.join(images_dir, "images", split, name)):
        if os.path.isfile(cand):
            return cand
    raise MissingFileError(f"question {q.index}: image {clip(str(name), 100)} not found under "
                           f"{images_dir}", hint="--images names the folder of the images")


def answer_questions(backend, questions: list[Question], scenes=None, images_dir=None,
                     batch: int = 4096, progress: bool = False, programs=None,
                     nbytes=None) -> list:
    """Answers (or Failures) for every question with one back end, batched.

    ``programs`` replace the questions' own (``compare --compress``: each reads its image
    through a codec); they go through :mod:`clevrlang.image_pass`, which fills ``nbytes``
    with each code's size. A question's image is read only when its program uses it.
    """
    from clevrlang import image_pass

    programs = [q.program for q in questions] if programs is None else programs
    if backend.needs == "scenes":
        if scenes is None:
            raise UsageError(f"the {backend.name} back end needs --scenes")
        by_name = {s.image_filename: s for s in scenes}
        inputs = [scene_for(q, scenes, by_name) for q in questions]
        return image_pass.answer(backend, programs, inputs, errors="return", nbytes=nbytes)
    if images_dir is None:
        raise UsageError(f"the {backend.name} back end needs --images DIR")
    from clevrlang.images import load_image

    out: list = []
    chunks = range(0, len(questions), batch)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc=f"{backend.name}", unit="batch")
    cache: dict[str, object] = {}
    for start in chunks:
        part = programs[start:start + batch]
        images = []
        for q, program in zip(questions[start:start + batch], part):
            if not image_pass.reads_current_input(
                    program if type(program) is Node else program.node):
                images.append(None)  # it reads its own image
                continue
            p = find_image(images_dir, q)
            if p not in cache:
                cache.clear() if len(cache) > 512 else None
                cache[p] = load_image(p)
            images.append(cache[p])
        out += image_pass.answer(backend, part, images, errors="return", nbytes=nbytes)
    return out


def evaluate(backend_names, questions, scenes=None, images_dir=None, options=None,
             progress: bool = False) -> list[EvalResult]:
    from clevrlang.backends import get_backend

    results = []
    types = [q.question_type for q in questions]
    expected = [q.answer for q in questions]
    for name in backend_names:
        backend = get_backend(name, **(options or {}).get(name, {}))
        preds = answer_questions(backend, questions, scenes, images_dir, progress=progress)
        results.append(EvalResult(name, preds, AccuracyTable.from_answers(types, preds, expected)))
    return results
