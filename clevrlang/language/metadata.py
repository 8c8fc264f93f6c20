"""The ``#@`` lines ``clevr convert`` writes: a question's CLEVR fields as JSON in a comment.

    # 12. What color is the large metal ball?
    #@ {"image_filename": "CLEVR_val_000003.png", "image_index": 3, "question_index": 12}
    expect scene() |> filter_size[large] |> ... |> query_color == red

A ``#@`` line belongs to the next top-level result (it comes before that result's lets);
``#@info {...}`` is the file's ``info`` block. ``clevr convert`` reads them back into the
questions file, and suites and ``clevr run`` run each result on the image they name.

>>> from clevrlang.language.program import parse
>>> p = parse('#@ {"image_index": 3}\\nexpect scene() |> count == 2\\nscene() |> exist\\n')
>>> read_metadata(p)
({}, [{'image_index': 3}, {}])
"""

from __future__ import annotations

import bisect
import json
import re

from clevrlang.language.errors import DataError, Span

_META = re.compile(r"#@\s*(info\s+)?(\{.*\})\s*$")


def read_metadata(program) -> tuple[dict, list[dict]]:
    """``(info, metas)``: the ``#@info`` dict and one dict per root of ``program`` (empty
    where a root has no ``#@`` line). Malformed JSON is a located DataError."""
    from clevrlang.language.parser import comments

    source = program.source
    metas: list[dict] = [{} for _ in program.roots]
    info: dict = {}
    if source is None or "#@" not in source.text:
        return info, metas
    starts = [r.span.line if r.span else 0 for r in program.roots]
    for tok in comments(source.text):
        m = _META.match(tok.value)
        if not m:
            continue
        try:
            value = json.loads(m.group(2))
        except json.JSONDecodeError as e:
            at = tok.start_pos + m.start(2) + e.pos
            raise DataError(f"bad #@ metadata: {e.msg}", Span(source, at, at + 1)) from None
        except (ValueError, RecursionError) as e:
            from clevrlang.datafiles import json_limit

            why, at = json_limit(e, m.group(2))
            at = tok.start_pos + m.start(2) + (at or 0)
            raise DataError(f"bad #@ metadata: {why}", Span(source, at, at + 1)) from None
        if not isinstance(value, dict):
            continue
        if m.group(1):
            info = value
            continue
        k = bisect.bisect_left(starts, tok.line)  # the first result starting on or after it
        if k < len(metas):
            metas[k] = value
    return info, metas
