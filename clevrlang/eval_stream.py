"""Evaluating a questions file in bounded memory: ``clevr eval``'s path for a split.

The questions are read a chunk at a time (:class:`~clevrlang.question_stream.QuestionFile`);
every back end answers the chunk (its programs and images are loaded for it and dropped
after it), and what stays per question is its index, type, expected answer and each back
end's prediction: ~100 B instead of the ~8 KB of a loaded question and its program. The
scenes are read only when a back end answers on scenes. A chunk is one
:func:`~clevrlang.evaluation.answer_questions` batch, so the answers are those of
:func:`~clevrlang.evaluation.evaluate` on the whole list.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from clevrlang.evaluation import AccuracyTable, EvalResult, answer_questions
from clevrlang.question_stream import QuestionFile

CHUNK = 4096  # questions per chunk: answer_questions' batch (~400 images decoded at a time)


class Asked(NamedTuple):
    """What an evaluation keeps of a question once it is answered (a predictions file
    reads ``question_index``, as it does of a :class:`~clevrlang.datafiles.Question`)."""

    question_index: int


def evaluate_file(backend_names, questions: QuestionFile, scenes_path=None, images_dir=None,
                  options=None, progress: bool = False, chunk: int = CHUNK,
                  ) -> tuple[list[EvalResult], list[Asked]]:
    """:func:`~clevrlang.evaluation.evaluate` of the file's questions, one chunk at a time:
    each back end's result and the questions answered, in file order."""
    from clevrlang.backends import get_backend

    backends = [get_backend(n, **(options or {}).get(n, {})) for n in backend_names]
    scenes = None
    if scenes_path and any(b.needs == "scenes" for b in backends):
        from clevrlang.datafiles import load_scenes

        scenes = load_scenes(scenes_path)
    predictions: list[list] = [[] for _ in backends]
    types, expected, asked = [], [], []
    from tqdm.auto import tqdm

    with tqdm(total=len(questions), desc=",".join(backend_names), unit="q",
              disable=not progress) as bar:
        for part in questions.chunks(chunk):
            for backend, out in zip(backends, predictions):
                out += answer_questions(backend, part, scenes, images_dir, batch=chunk)
            # Interned: a split's 150,000 type and answer words are then ~30 strings.
            types += [q.question_type and sys.intern(q.question_type) for q in part]
            expected += [q.answer and sys.intern(q.answer) for q in part]
            asked += [Asked(q.question_index) for q in part]
            bar.update(len(part))
    return [EvalResult(name, preds, AccuracyTable.from_answers(types, preds, expected))
            for name, preds in zip(backend_names, predictions)], asked
