"""One error root for everything a user can get wrong, one subclass per phase.

Every error may carry a :class:`Span`; :meth:`ClevrError.render` then prints
``file:line:col``, the source line and a caret under the offending text, like a compiler.
Whatever the input, the rendering fits on one screen: a long line is shown as a window of at
most :data:`WINDOW` columns around the caret, and a message line that embeds a huge value is
clipped in its middle. The CLI and the REPL print ``render()``; the CLI exits with the
class's :attr:`~ClevrError.exit_code` (:class:`ExitCode`). A Python traceback reaching a
user is a bug.

>>> src = Source("count(scene()", "q.clv")
>>> print(ClevrSyntaxError("expected ')'", Span(src, 13, 13)).render())
q.clv:1:14: syntax error: expected ')'
  count(scene()
               ^
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# Columns of a source line shown around a caret, "..." markers included: a minified one-line
# JSON file or a generated program must not print 400 KB of context.
WINDOW = 100
# Longest message or hint line shown whole; a longer one embeds user data (a value, a name)
# and keeps its two ends. CLEVR's own messages are far shorter.
LINE_LIMIT = 400
MAX_MESSAGE_LINES = 12


class ExitCode(IntEnum):
    """What the ``clevr`` command's exit status means (README "Exit codes", ``clevr --help``)."""

    OK = 0
    FAILED = 1       # the program ran; an answer or an expectation failed
    USAGE = 2        # the invocation was wrong; nothing was run
    BAD_INPUT = 3    # an input file could not be read (syntax, types, data, checkpoint)
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


# One line each, for `clevr --help` (the README's "Exit codes" gives the reasons).
EXIT_CODE_HELP = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the program ran and an answer or expectation failed (your tests failed)",
    ExitCode.USAGE: "the call was wrong: usage, an unknown name, --index out of range, a "
                    "missing file, an output that exists, options that clash",
    ExitCode.BAD_INPUT: "an input could not be read: a .clv syntax or type error, a malformed "
                        "or truncated data file, a corrupt checkpoint",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


def clip(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` whole when it is short, else its two ends around a count of what is left out.

    >>> clip("x" * 1000, 40)
    'xxxxxxx ...[986 characters]... xxxxxxx'
    """
    if len(text) <= limit:
        return text
    keep = max(1, (limit - 26) // 2)
    return f"{text[:keep]} ...[{len(text) - 2 * keep:,} characters]... {text[-keep:]}"


def shown(value, limit: int = 60) -> str:
    """A user's value quoted for a message (its ``repr``), bounded.

    >>> shown("pyramid"), shown("a" * 10_000, 40)
    ("'pyramid'", "'aaaaaa ...[9,988 characters]... aaaaaa'")
    """
    return clip(repr(value), limit)


# Characters that would break the one-line excerpt or shift the caret (tabs, line and
# paragraph separators, terminal control codes) are shown as one column each.
_UNPRINTABLE = {i: " " if i == 9 else "\ufffd" for i in (*range(32), 127, 0x85, 0x2028, 0x2029)}


def _window(text: str, col: int, width: int) -> tuple[str, int, int]:
    """(excerpt, caret column, caret width) of a line, at most WINDOW columns around ``col``.

    >>> line = "a" * 500 + "^" + "b" * 500
    >>> excerpt, c, w = _window(line, 500, 3)
    >>> len(excerpt) <= WINDOW, excerpt[c], excerpt[:3], excerpt[-3:], w
    (True, '^', '...', '...', 3)
    """
    if len(text) <= WINDOW:
        return text, col, width
    room = WINDOW - 6  # two "..." markers
    lo = max(0, min(col - room // 2, len(text) - room))
    hi = min(len(text), lo + room)
    head = "..." if lo > 0 else ""
    tail = "..." if hi < len(text) else ""
    return head + text[lo:hi] + tail, len(head) + col - lo, max(1, min(width, hi - col))


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
        """Line ``line`` without its end; lines end at "\\n" only, as :meth:`line_col` counts."""
        start = 0
        for _ in range(line - 1):
            start = self.text.find("\n", start) + 1
            if start == 0:
                return ""
        end = self.text.find("\n", start)
        return self.text[start:end if end >= 0 else len(self.text)].removesuffix("\r")


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
        """The source line and a caret (``^~~~``) under this span, indented by two.

        A line longer than :data:`WINDOW` columns shows a window around the caret, with
        ``...`` where it was cut; the ``~`` of a long span stop at the window's edge.
        """
        line, col = self.source.line_col(self.start)
        text = self.source.line_text(line)
        end_line, end_col = self.source.line_col(max(self.start, self.end - 1))
        width = (end_col - col + 1) if end_line == line and self.end > self.start else 1
        width = max(1, min(width, len(text) - col + 1)) if text else 1
        text, at, width = _window(text.translate(_UNPRINTABLE), col - 1, width)
        return f"  {text}\n  {' ' * at}^{'~' * (width - 1)}"

    def location(self) -> str:
        line, col = self.source.line_col(self.start)
        return f"{self.source.name}:{line}:{col}"


class ClevrError(Exception):
    """Root of every error clevrlang reports to a user; ``exit_code`` is the CLI's status."""

    kind = "error"
    exit_code = ExitCode.BAD_INPUT  # each phase below names its own

    def __init__(self, message: str, span: Span | None = None, *, hint: str | None = None,
                 where: str | None = None, node=None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self._where = where  # a file name when there is no span (data files, checkpoints)
        self.node = node  # the IR node a program failed at (an interpreter sets it), as data

    @property
    def where(self) -> str | None:
        """The location shown before the message: the file, else the node, as torch.fx
        says it ("while executing <node>")."""
        if self._where or self.node is None:
            return self._where
        return f"while executing {self.node.label()}"

    @where.setter
    def where(self, where: str | None) -> None:
        self._where = where

    def render(self) -> str:
        """The one-screen message: location, what went wrong, the line with a caret, a hint."""
        head = f"{self.kind}: {self.message}"
        if self.span is not None:
            head = f"{self.span.location()}: {head}"
        elif self.where:
            head = f"{self.where}: {head}"
        parts = [_bounded(head)]
        if self.span is not None and self.span.source.text:
            parts.append(self.span.caret())
        if self.hint:
            parts.append(_bounded(f"  hint: {self.hint}"))
        return "\n".join(parts)

    def _render_traceback_(self) -> list[str]:
        """IPython shows these lines in place of a traceback (``parse(...)`` in a notebook)."""
        return self.render().splitlines()

    def __str__(self) -> str:
        return self.render()


def _bounded(text: str) -> str:
    """A message with every line clipped, at most MAX_MESSAGE_LINES lines, and no terminal
    control codes (a value quoted from a file could otherwise recolour the terminal)."""
    lines = text.split("\n")
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES - 1] + [f"  ... ({len(lines) - MAX_MESSAGE_LINES + 1} "
                                                 "more lines)"]
    return "\n".join(clip(line.translate(_UNPRINTABLE)) for line in lines)


class ClevrSyntaxError(ClevrError):
    kind = "syntax error"
    exit_code = ExitCode.BAD_INPUT


class ClevrTypeError(ClevrError):
    kind = "type error"
    exit_code = ExitCode.BAD_INPUT


class ExecutionError(ClevrError):
    """A program that is well typed but cannot run on this input (``unique`` of two objects).

    The program ran and its answer failed, as a failing ``expect`` does.
    """

    kind = "execution error"
    exit_code = ExitCode.FAILED


class DataError(ClevrError):
    """A malformed, truncated or foreign data file (scenes, questions, images, codes)."""

    kind = "data error"
    exit_code = ExitCode.BAD_INPUT


class CheckpointError(ClevrError):
    """A checkpoint or model artefact that is missing, corrupt or does not match."""

    kind = "checkpoint error"
    exit_code = ExitCode.BAD_INPUT


class UsageError(ClevrError):
    """A command used the wrong way (a missing option, an unknown back end)."""

    kind = "usage error"
    exit_code = ExitCode.USAGE


class BudgetTooSmall(UsageError):
    """A byte budget below the smallest code a codec makes of this image.

    From a codec's API or ``clevr codec`` it is the call's error (exit 2); inside a program
    (``compress[...]``) it is an execution error (:func:`clevrlang.codecs.apply`): it fails
    that image's questions, and ``clevr eval`` or ``compare`` go on with the other images.
    """


class MissingFileError(UsageError, DataError):
    """A file or folder that is not there: the call named the wrong path (exit 2).

    Also a DataError, so code that handles unreadable data files handles it too.
    """

    kind = "error"
    exit_code = ExitCode.USAGE
