"""The REPL's terminal side: prompt_toolkit prompt, completion, history, multi-line input.

* Completion reads the vocabulary (functions with their signatures, attribute values inside
  ``[...]`` for the function before the bracket, type names in a ``def`` header), the
  session's ``let`` and ``def`` names, and the ``:command`` table.
* History is a prompt_toolkit ``FileHistory`` under the user's data folder
  (:func:`history_path`), appended to and never truncated, so it lasts from one run to the
  next.
* Enter runs the input when it is a whole statement (:func:`clevrlang.repl.session.is_complete`:
  brackets closed, no trailing ``|>``) and otherwise starts a continuation line; Esc-Enter
  always inserts a newline.
* Input that is not a terminal is read line by line (:func:`run_lines`), grouped as the
  grammar groups it, and echoed after the prompt, so ``clevr repl < steps.txt`` prints a
  transcript.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from clevrlang.highlight import function_names, keywords
from clevrlang.language.vocabulary import (
    ATTRIBUTE_TYPES, ATTRIBUTES, BOOL_WORDS, ENUMS, FILTER_MACRO, FUNCTIONS, TYPE_NAMES,
    type_of_value,
)
from clevrlang.repl.session import Session, is_complete


PROMPT = "clevr> "
CONTINUATION = "  ...  "
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")
_FUNC_BEFORE = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*$")


def history_path() -> Path:
    """``$CLEVRLANG_HOME/history``, else ``$XDG_DATA_HOME/clevrlang/history``, else
    ``~/.local/share/clevrlang/history``."""
    home = os.environ.get("CLEVRLANG_HOME")
    if home:
        return Path(home).expanduser() / "history"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "clevrlang" / "history"


def open_history(path: str | os.PathLike | None = None, echo=None):
    """A FileHistory at ``path`` (folders made as needed); in memory if it cannot be written."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = Path(path) if path is not None else history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):  # appends nothing; fails early if it cannot be written
            pass
    except OSError as e:
        if echo is not None:
            echo(f"history is not kept: cannot write {path} ({e.strerror})", "note")
        return InMemoryHistory()
    return FileHistory(str(path))


# ------------------------------------------------------------------------------ completion

def _bracket_context(text: str) -> int | None:
    """The position of the innermost unclosed ``[`` if the cursor is inside one, else None."""
    stack: list[tuple[str, int]] = []
    in_string = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch in "([":
            stack.append((ch, i))
        elif ch in ")]" and stack:
            stack.pop()
        elif ch == "\n":
            in_string = False
    return stack[-1][1] if stack and stack[-1][0] == "[" else None


def value_candidates(function: str) -> list[tuple[str, str]]:
    """(text, meta) completions inside ``function[...]``, from the vocabulary."""
    if function == FILTER_MACRO:
        return [(v, a) for a in ATTRIBUTES for v in ENUMS[ATTRIBUTE_TYPES[a]]]
    f = FUNCTIONS.get(function)
    if f is None or not f.params:
        return [(v, str(t)) for t, values in ENUMS.items() for v in values]
    out = []
    for p in f.params:
        if p.keyword:
            out.append((f"{p.keyword}=", str(p.type)))
        else:
            out += [(v, str(p.type)) for v in ENUMS.get(p.type, ())]
    return out


def _looks_like_path(text: str) -> bool:
    """Whether the last word of ``:show EXPR FILE`` is a file name being typed."""
    last = text.rpartition(" ")[2]
    return text[: -len(last) or None].strip() != "" and ("/" in last or "." in last)


class ClevrCompleter(Completer):
    """Completes ``:commands``, functions, values, types and the session's names."""

    def __init__(self, session: Session):
        self.session = session
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent):
        text = document.text_before_cursor
        # While typing, an empty word pops a menu only for [values]; Tab always does.
        if not (event.completion_requested or _WORD.search(text)
                or _bracket_context(text) is not None or text.lstrip() == ":"):
            return
        line = text.rsplit("\n", 1)[-1]
        if line.count('"') % 2:  # inside a string: load("... takes a file name
            yield from self._paths.get_completions(Document(line.rsplit('"', 1)[1]), event)
        elif text.lstrip().startswith(":"):
            yield from self._command(text.lstrip(), event)
        else:
            yield from self._language(text)

    def _command(self, text: str, event) -> Iterator[Completion]:
        from clevrlang.repl.commands import COMMANDS

        if " " not in text:
            for name, cmd in COMMANDS.items():
                if name.startswith(text[1:]):
                    yield Completion(f":{name}", -len(text), display_meta=cmd.help)
            return
        name, _, rest = text[1:].partition(" ")
        cmd = COMMANDS.get(name)
        kind = cmd.argument.rstrip("?") if cmd else ""
        if kind == "backend":
            from clevrlang.backends import NAMES

            yield from self._words(rest, [(n, "back end") for n in NAMES])
        elif kind == "path" or (kind == "expr path" and _looks_like_path(rest)):
            path_text = rest.rpartition(" ")[2] if kind == "expr path" else rest.split(" ")[0]
            yield from self._paths.get_completions(Document(path_text), event)
        elif kind == "name":
            yield from self._words(rest, [(n, "command") for n in COMMANDS]
                                   + self._callables())
        elif kind.startswith("expr"):
            yield from self._language(rest)

    @staticmethod
    def _words(text: str, candidates) -> Iterator[Completion]:
        m = _WORD.search(text)
        word = m.group() if m else ""
        if text and not m and not text.endswith((" ", "[", "(", ",", "=")):
            return
        seen = set()
        for cand, meta in candidates:
            if cand.startswith(word) and cand not in seen:
                seen.add(cand)
                yield Completion(cand, -len(word), display_meta=meta)

    def _callables(self) -> list[tuple[str, str]]:
        out = [(n, FUNCTIONS[n].signature() if n in FUNCTIONS else "filter[VALUE ...](Objects)")
               for n in function_names()]
        out += [(d, self.session.def_signature(d)) for d in self.session.checker.defs]
        return out

    def _language(self, text: str) -> Iterator[Completion]:
        bracket = _bracket_context(text)
        if bracket is not None:
            m = _FUNC_BEFORE.search(text[:bracket])
            yield from self._words(text, value_candidates(m.group(1) if m else ""))
            return
        before = text[: len(text) - len(_WORD.search(text).group())] if _WORD.search(text) else text
        line = before.rsplit("\n", 1)[-1]
        stripped = before.rstrip()
        if stripped.endswith("=="):
            values = [(v, str(type_of_value(v))) for vs in ENUMS.values() for v in vs]
            yield from self._words(text, [(w, "Bool") for w in BOOL_WORDS] + values)
            return
        if stripped.endswith("->") or (stripped.endswith(":") and line.lstrip().startswith("def")):
            yield from self._words(text, [(t, "type") for t in TYPE_NAMES])
            return
        names = [(n, str(node.type)) for n, (node, _) in self.session.checker.lets.items()]
        start = [(k, "keyword") for k in keywords()] if not before.strip() else []
        yield from self._words(text, start + names + self._callables())


# --------------------------------------------------------------------------------- loops

def _key_bindings():
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event):
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)
        elif is_complete(buf.text):
            buf.validate_and_handle()
        else:
            buf.insert_text("\n    ")

    @kb.add("escape", "enter")
    def _newline(event):
        event.current_buffer.insert_text("\n")

    return kb


def make_prompt(session: Session, *, history=None, input=None, output=None):
    """The prompt_toolkit PromptSession the REPL reads from."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.lexers import PygmentsLexer

    from clevrlang.highlight import ClevrReplLexer

    return PromptSession(
        PROMPT, multiline=True, key_bindings=_key_bindings(),
        lexer=PygmentsLexer(ClevrReplLexer), completer=ClevrCompleter(session),
        complete_while_typing=True, auto_suggest=AutoSuggestFromHistory(),
        history=history if history is not None else open_history(echo=session.echo),
        prompt_continuation=lambda width, line, soft: CONTINUATION.rjust(width),
        input=input, output=output,
    )


def run_prompt(session: Session, *, history=None, input=None, output=None) -> None:
    """Read and run inputs until ``:quit`` or Ctrl-D; Ctrl-C drops the current input."""
    prompt = make_prompt(session, history=history, input=input, output=output)
    while True:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        go_on = session.execute(text)
        for program in session.asked:  # a `?` question's program, to edit and re-run
            prompt.history.append_string(program)
        session.asked.clear()
        if not go_on:
            break


def _grouped(lines: Iterable[str]) -> Iterator[str]:
    """Lines joined into inputs as the grammar joins them (open brackets, a next ``|>``)."""
    buf: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        if buf and line.lstrip().startswith("|>") and not buf[0].lstrip().startswith(":"):
            buf.append(line)
            continue
        if buf and is_complete("\n".join(buf)):
            yield "\n".join(buf)
            buf = []
        buf.append(line)
    if buf:
        yield "\n".join(buf)


def run_lines(session: Session, lines: Iterable[str], echo_input: bool = True) -> None:
    """Run inputs read from a file or a pipe; each is echoed after the prompt first."""
    for text in _grouped(lines):
        if not text.strip():
            continue
        if echo_input:
            session.echo(PROMPT + text.replace("\n", "\n" + CONTINUATION), "note")
        if not session.execute(text):
            break


__all__ = ["ClevrCompleter", "history_path", "open_history", "make_prompt", "run_prompt",
           "run_lines", "value_candidates", "PROMPT"]
