"""A CLEVR questions file read a chunk of questions at a time.

:func:`~clevrlang.datafiles.load_questions` holds the whole file as Python objects: ~6 KB
per question (1 KB of JSON), ~0.9 GB for CLEVR's 150,000-question validation split, and the
programs they convert to add ~2 KB each. A :class:`QuestionFile` reads the file in blocks
and decodes one question at a time, so an evaluation keeps only the chunk it is answering.
Opening it reads the file once to check it (errors point at the text as
:func:`~clevrlang.datafiles.read_json`'s do, before anything runs), count the questions and
find its ``info``; each iteration reads it again.

>>> import json, tempfile
>>> path = tempfile.mktemp(suffix=".json")
>>> _ = open(path, "w").write(json.dumps({"info": {"split": "val"}, "questions": [
...     {"question_index": i, "program": []} for i in range(5)]}))
>>> qf = QuestionFile(path)
>>> len(qf), [[q.question_index for q in part] for part in qf.chunks(2)]
(5, [[0, 1], [2, 3], [4]])
>>> next(iter(qf.chunks(2)))[0].info
{'split': 'val'}
"""

from __future__ import annotations

import json
import os
from typing import Iterator

from clevrlang.datafiles import Question, read_json
from clevrlang.files import read_text
from clevrlang.language.errors import DataError

BLOCK = 1 << 20  # characters read at a time
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


class _Malformed(Exception):
    """Not the layout (or not JSON): :func:`read_json` of the whole file says where."""


class _Reader:
    """Top-level JSON values from a text file read in blocks; a value cut by a block's end
    is decoded again once the next block is in."""

    def __init__(self, f):
        self.f, self.buf, self.pos, self.eof = f, "", 0, False

    def _more(self) -> bool:
        # At least what is pending: a value longer than a block is decoded O(log n) times.
        block = self.f.read(max(BLOCK, len(self.buf) - self.pos))
        if not block:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + block
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-space character ("" at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise _Malformed
        self.pos += 1

    def value(self):
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
                if self.eof or not self._more():
                    raise _Malformed from None
                continue
            if end < len(self.buf) or self.eof or not self._more():  # "12|3": read on
                self.pos = end
                return value

    def items(self) -> Iterator:
        """The elements of the array that starts here."""
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.peek() == "]":
                self.pos += 1
                return
            self.take(",")


class QuestionFile:
    """The questions of a CLEVR questions file (``{"info": ..., "questions": [...]}`` or a
    list), ``chunks(n)`` at a time; ``limit`` keeps the first N. The same questions, in the
    same order and with the same errors, as :func:`~clevrlang.datafiles.load_questions`."""

    def __init__(self, path: str | os.PathLike, limit: int | None = None):
        self.path = os.fspath(path)
        self.limit = limit
        self.info: dict = {}
        self.missing: list[int] = []  # the questions without a program
        n = sum(1 for _ in self._raw(check=True))  # every question checked, as load_questions does
        self.n = n if limit is None else min(n, limit)

    def __len__(self) -> int:
        return self.n

    def chunks(self, size: int) -> Iterator[list[Question]]:
        part: list[Question] = []
        for i, raw in enumerate(self._raw()):
            part.append(Question(raw, i, self.path, self.info))
            if len(part) == size:
                yield part
                part = []
        if part:
            yield part

    def _raw(self, check: bool = False) -> Iterator[dict]:
        """Each question's dict; ``check`` also records ``info`` and finds every error."""
        bad = None  # the first question that is not an object, named once the JSON parsed
        try:
            with open(self.path, encoding="utf-8") as f:
                for i, raw in enumerate(self._questions(_Reader(f), check)):
                    if self.limit is not None and i >= self.limit and not check:
                        return
                    if isinstance(raw, dict):
                        if check and raw.get("program") is None and \
                                (self.limit is None or i < self.limit):
                            self.missing.append(i)
                        yield raw
                    elif bad is None:
                        bad = i
        except _Malformed:
            read_json(self.path)  # raises the error with its caret
            raise DataError("expected {'questions': [...]}", where=self.path) from None
        except (OSError, UnicodeDecodeError):
            read_text(self.path, "a JSON file")  # raises the error it is
            raise
        if bad is not None:
            raise DataError(f"question {bad} is not an object", where=self.path)

    def _questions(self, r: _Reader, check: bool) -> Iterator:
        first = r.peek()
        if first == "[":
            yield from r.items()
        elif first == "{":
            r.take("{")
            found = False
            while r.peek() != "}":
                key = r.value()
                if not isinstance(key, str):
                    raise _Malformed
                r.take(":")
                if key == "questions" and r.peek() == "[" and not found:
                    found = True
                    yield from r.items()
                    if not check:  # the first reading found the rest
                        return
                else:
                    value = r.value()
                    if key == "info" and check:
                        self.info = value
                if r.peek() == "}":
                    break
                r.take(",")
                if r.peek() == "}":  # a trailing comma
                    raise _Malformed
            r.take("}")
            if not found:
                raise _Malformed
        else:
            raise _Malformed
        if check and r.peek() != "":  # json.loads' "Extra data"
            raise _Malformed
