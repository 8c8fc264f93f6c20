"""One error root for everything a user can get wrong, one subclass per phase.

Every error may carry a :class:`Span`; :meth:`ClevrError.render` then prints
``file:line:col``, the source line and a caret under the offending text, like a compiler.
The CLI and the REPL print ``render()`` and exit non-zero; a Python traceback reaching a
user is a bug.

>>> src = Source("count(scene()", "q.clv")
>>> print(ClevrSyntaxError("expected ')'", Span(src, 13, 13)).render())
q.clv:1:14: syntax error: expected ')'
  count(scene()
               ^
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A program's text and where it came from (a file name or ``<repl>``)."""

    text: str
    name: str = "<input>"

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - start + 1

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` in a :class:`Source`."""

    source: Source
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def column(self) -> int:
        return self.source.line_col(self.start)[1]

    def text(self) -> str:
        return self.source.text[self.start:self.end]

    def caret(self) -> str:
        """The source line and a caret (``^~~~``) under this span, indented by two."""
        line, col = self.source.line_col(self.start)
        text = self.source.line_text(line)
        end_line, end_col = self.source.line_col(max(self.start, self.end - 1))
        width = (end_col - col + 1) if end_line == line and self.end > self.start else 1
        width = max(1, min(width, len(text) - col + 1)) if text else 1
        return f"  {text}\n  {' ' * (col - 1)}^{'~' * (width - 1)}"

    def location(self) -> str:
        line, col = self.source.line_col(self.start)
        return f"{self.source.name}:{line}:{col}"


class ClevrError(Exception):
    """Root of every error clevrlang reports to a user."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, *, hint: str | None = None,
                 where: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.where = where  # a file name when there is no span (data files, checkpoints)

    def render(self) -> str:
        """The one-screen message: location, what went wrong, the line with a caret, a hint."""
        head = f"{self.kind}: {self.message}"
        if self.span is not None:
            head = f"{self.span.location()}: {head}"
        elif self.where:
            head = f"{self.where}: {head}"
        parts = [head]
        if self.span is not None and self.span.source.text:
            parts.append(self.span.caret())
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class ClevrSyntaxError(ClevrError):
    kind = "syntax error"


class ClevrTypeError(ClevrError):
    kind = "type error"


class ExecutionError(ClevrError):
    """A program that is well typed but cannot run on this input (``unique`` of two objects)."""

    kind = "execution error"


class DataError(ClevrError):
    """A malformed, truncated or foreign data file (scenes, questions, images, codes)."""

    kind = "data error"


class CheckpointError(ClevrError):
    """A checkpoint or model artefact that is missing, corrupt or does not match."""

    kind = "checkpoint error"


class UsageError(ClevrError):
    """A command used the wrong way (a missing option, an unknown back end)."""

    kind = "usage error"
