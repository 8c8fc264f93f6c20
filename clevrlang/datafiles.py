"""Reading CLEVR's scene and question files (the released v1.0 layout and our generator's).

Malformed or truncated JSON is reported with file, line, column and a caret; a missing
field names the scene or question and the field.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property

from clevrlang.files import read_text
from clevrlang.language.errors import DataError, Source, Span, shown
from clevrlang.language.program import Program
from clevrlang.language.vocabulary import render_value
from clevrlang.scene import Scene


def read_json(path: str | os.PathLike):
    """Parse a JSON file; errors point at the offending character."""
    path = os.fspath(path)
    text = read_text(path, "a JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise json_error(e, text, path) from None
    except (ValueError, RecursionError) as e:
        why, at = json_limit(e, text)
        span = Span(Source(text, path), at, at + 1) if at is not None else None
        raise DataError(f"unreadable JSON: {why}", span, where=path) from None


def json_limit(e: ValueError | RecursionError, text: str) -> tuple[str, int | None]:
    """Why ``json.loads`` refused valid JSON -- Python's limits, not JSON's syntax -- and the
    offset of the culprit when there is one."""
    if isinstance(e, RecursionError):
        return "arrays or objects nested too deeply", None
    limit = sys.get_int_max_str_digits()  # int()'s guard against quadratic conversions
    m = re.search(r"[0-9]{%d,}" % (limit + 1), text)
    return f"a number of more than {limit:,} digits", (m.start() if m else None)


def json_error(e: json.JSONDecodeError, text: str, path: str) -> DataError:
    """A DataError for a JSON decode error: the whole decoder message, a caret at its place.

    A string still open at the end means the file was cut short (strings cannot hold raw
    newlines), as does an error at the last character.
    """
    truncated = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string")
    what = "truncated JSON (the file ends early)" if truncated else "invalid JSON"
    return DataError(f"{what}: {e}", Span(Source(text, path), e.pos, e.pos + 1))


def _scene_list(data, path: str) -> list:
    if isinstance(data, dict) and "scenes" in data:
        data = data["scenes"]
    elif isinstance(data, dict) and "objects" in data:
        data = [data]
    if not isinstance(data, list):
        raise DataError("expected {'scenes': [...]}, a list of scenes, or one scene", where=path)
    return data


def load_scenes(path: str | os.PathLike) -> list[Scene]:
    """The scenes of a CLEVR scenes file, validated, in file order."""
    path = os.fspath(path)
    return [Scene(raw, i, path) for i, raw in enumerate(_scene_list(read_json(path), path))]


@dataclass(eq=False)
class Question:
    """One CLEVR question. ``program`` is converted on first use (files can be large)."""

    raw: dict
    index: int
    where: str | None = None
    info: dict = field(default_factory=dict)

    @cached_property
    def program(self) -> Program | None:
        nodes = self.raw.get("program")
        if nodes is None:
            return None
        return Program.from_clevr_json(nodes, where=f"{self.where}, question {self.index}")

    @property
    def answer(self) -> str | None:
        a = self._field("answer", (str, int, bool))
        return None if a is None else render_value(a)

    @property
    def question_index(self) -> int:
        i = self._field("question_index", int)
        return self.index if i is None else i

    @property
    def image_index(self) -> int | None:
        return self._field("image_index", int)

    @property
    def image_filename(self) -> str | None:
        return self._field("image_filename", str)

    @property
    def text(self) -> str:
        return self._field("question", str) or ""

    @property
    def family(self) -> int | None:
        return self._field("question_family_index", int)

    @property
    def question_type(self) -> str | None:
        nodes = self.raw.get("program")
        if not nodes or not isinstance(nodes, list):
            return None
        last = nodes[-1]
        name = last.get("function", last.get("type")) if isinstance(last, dict) else None
        return name if isinstance(name, str) else None

    def _field(self, key: str, kind, default=None):
        """``raw[key]`` (``default`` when absent) if it has the JSON type CLEVR writes there
        (a number is no bool), else a DataError naming the question and the field."""
        value = self.raw.get(key, default)
        if value is None or (isinstance(value, kind)
                             and not (kind is int and isinstance(value, bool))):
            return value
        what = {int: "an integer", str: "a string"}.get(kind, "a string or a number")
        raise DataError(f"question {self.index}: {key!r} must be {what}, found {shown(value)}",
                        where=self.where)


def load_questions(path: str | os.PathLike) -> list[Question]:
    """The questions of a CLEVR questions file (``{"info": ..., "questions": [...]}``)."""
    path = os.fspath(path)
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        items, info = data["questions"], data.get("info", {})
    elif isinstance(data, list):
        items, info = data, {}
    else:
        raise DataError("expected {'questions': [...]}", where=path)
    out = []
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise DataError(f"question {i} is not an object", where=path)
        out.append(Question(raw, i, path, info))
    return out


def scene_for(question: Question, scenes: list[Scene], by_filename: dict | None = None) -> Scene:
    """The scene a question is about (by image_index, else by image_filename)."""
    idx = question.image_index
    if idx is not None and 0 <= idx < len(scenes):
        s = scenes[idx]
        if question.image_filename is None or s.image_filename in (None, question.image_filename):
            return s
    if by_filename is None:
        by_filename = {s.image_filename: s for s in scenes}
    s = by_filename.get(question.image_filename)
    if s is None:
        raise DataError(f"question {question.index}: no scene for image "
                        f"{question.image_filename or idx!r}", where=question.where)
    return s
