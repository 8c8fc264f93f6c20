"""CLEVR questions JSON <-> .clv files (``clevr convert``).

A question becomes a human comment, a ``#@`` line carrying its metadata as JSON, the lets
that keep CLEVR's node order, and one expression (an ``expect`` when the answer is known):

    # 12. What color is the large metal ball?
    #@ {"image_filename": "CLEVR_val_000003.png", "image_index": 3, ...}
    expect scene() |> filter_size[large] |> ... |> query_color == red

Converting back reads the ``#@`` lines, so JSON -> .clv -> JSON is exact.
"""

from __future__ import annotations

import json
import re

from clevrlang.datafiles import load_questions, read_json
from clevrlang.language.errors import DataError, shown
from clevrlang.language.metadata import read_metadata
from clevrlang.language.program import Program, parse
from clevrlang.language.vocabulary import BOOL_WORDS, ENUMS, Type, canonical_value, render_value

_KEEP = ("image_index", "image_filename", "split", "question_family_index", "template_filename",
         "image", "question_index")


def json_to_clv(path: str) -> tuple[str, int]:
    """The .clv text for a questions file (or a bare program list) and the program count."""
    data = read_json(path)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "inputs" in data[0]:
        return Program.from_clevr_json(data, where=path).to_clv() + "\n", 1
    questions = load_questions(path)
    info = data.get("info") if isinstance(data, dict) else None
    out = [f"# converted from {path}"]
    if info:
        out.append(f"#@info {json.dumps(info, sort_keys=True)}")
    for q in questions:
        program = q.program
        if program is None:
            raise DataError(f"question {q.index} has no program to convert", where=path)
        meta = {k: q.raw[k] for k in _KEEP if k in q.raw}
        meta["question"] = q.text
        out.append("")
        out.append(f"# {q.question_index}. {' '.join(q.text.splitlines())}".rstrip())
        out.append(f"#@ {json.dumps(meta, sort_keys=True)}")
        text = program.to_clv()
        if q.answer is not None:
            _check_answer(q.answer, program.node.type, q.index, path)
            *lets, expr = text.split("\n")
            text = "\n".join(lets + [f"expect {expr} == {q.answer}"])
        out.append(text)
    return "\n".join(out) + "\n", len(questions)


def _check_answer(answer: str, t: Type, index: int, path: str) -> None:
    """An ``expect`` can hold only a value of its program's type; else .clv -> JSON would
    fail on the file convert wrote."""
    if t is Type.BOOL:
        ok = answer in BOOL_WORDS
    elif t is Type.INT:
        ok = re.fullmatch(r"-?[0-9]+", answer) is not None
    else:
        ok = t in ENUMS and canonical_value(answer) in ENUMS[t]
    if not ok:
        raise DataError(f"question {index}: answer {shown(answer)} is no {t}, the type of "
                        "its program's result", where=path)


def clv_to_questions(text: str, name: str) -> dict:
    """A CLEVR questions dict from .clv text: one question per top-level result."""
    program = parse(text, name)
    info, metas = read_metadata(program)
    questions = []
    for i, (part, meta) in enumerate(zip(program.split(), metas)):
        root = part.roots[0]
        q = dict(meta)
        q["question_index"] = meta.get("question_index", i)
        q["program"] = part.to_clevr_json()
        if root.is_expect:
            q["answer"] = render_value(root.expected)
        questions.append(q)
    return {"info": info, "questions": questions}
