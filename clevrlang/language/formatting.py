"""``clevr fmt``: .clv files in canonical layout, with their comments, lets and defs kept.

The formatter prints the syntax tree (the checked IR has inlined every ``def``) and puts the
comments the grammar ignores back where they were. Each statement takes one line in the
layout :mod:`.printing` gives ``Program.to_clv``, or one ``|>`` stage per line when its
author broke the pipeline across lines; CLEVR's synonyms become their canonical word;
runs of blank lines become one. The result is checked before anyone sees it: it must type-check
to the same program, with the same comments and ``#@`` metadata, or nothing is written.

>>> print(format_text("let x=scene()|>filter[big]   # the big ones\\n\\n\\ncount(x)"), end="")
let x = scene() |> filter[large]  # the big ones
<BLANKLINE>
x |> count
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clevrlang.language import syntax as S
from clevrlang.language.errors import ClevrError, ExitCode, UsageError
from clevrlang.language.parser import comments, parse_module
from clevrlang.language.printing import is_stage, layout
from clevrlang.language.program import Program, check_module, format_value
from clevrlang.language.vocabulary import BOOL_WORDS, canonical_value, type_of_value

INDENT = "    "  # before each `|>` of a pipeline broken across lines
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*([eE][-+]?[0-9]+)?")  # the grammar's FLOAT


def format_text(text: str, name: str = "<input>") -> str:
    """``text`` formatted; a located ClevrError if it does not parse or type-check."""
    module = parse_module(text, name)
    program = check_module(module)
    notes = _comments(text)
    out = _Formatter(text).module(module.statements, notes)
    _check_same(program, notes, out, name)
    return out


@dataclass
class _Line:
    text: str
    before: list[str] = field(default_factory=list)  # own-line comments above it
    after: list[str] = field(default_factory=list)  # its trailing comment


class _Formatter:
    def __init__(self, text: str):
        self.text = text
        self.lets: set[str] = set()  # let names so far: such a name is not a value word
        self.params: frozenset[str] = frozenset()  # the parameters of the def being printed

    # -- the file: statements and own-line comments, in order ----------------------------
    def module(self, statements: Sequence, notes: Sequence) -> str:
        starts = [st.span.start for st in statements]
        owned: list[list] = [[] for _ in statements]
        items: list[tuple[int, int, object]] = []  # (start, end, statement index or comment)
        for tok in notes:
            k = bisect.bisect_right(starts, tok.start_pos) - 1
            if k >= 0 and (tok.start_pos < statements[k].span.end
                           or "\n" not in self.text[statements[k].span.end:tok.start_pos]):
                owned[k].append(tok)  # inside the statement, or trailing its last line
            else:
                items.append((tok.start_pos, tok.end_pos, tok))
        for k, st in enumerate(statements):
            items.append((st.span.start, max([st.span.end] + [t.end_pos for t in owned[k]]), k))
        items.sort(key=lambda item: item[0])
        out: list[str] = []
        prev_end = None
        for start, end, item in items:
            if prev_end is not None and self.text.count("\n", prev_end, start) >= 2:
                out.append("")  # the author's blank line(s), as one
            if isinstance(item, int):
                out += self.statement(statements[item], owned[item])
            else:
                out.append(_comment(item))
            prev_end = end
        return "\n".join(out) + "\n" if out else ""

    # -- one statement -------------------------------------------------------------------
    def statement(self, st, notes: Sequence) -> list[str]:
        head, tail = "", ""
        if isinstance(st, S.Let):
            head, expr = f"let {st.name.name} = ", st.expr
        elif isinstance(st, S.Def):
            params = ", ".join(f"{p.name}: {t.name}" for p, t in st.params)
            head, expr = f"def {st.name.name}({params}) -> {st.returns.name} = ", st.body
            self.params = frozenset(p.name for p, _ in st.params)
        elif isinstance(st, S.Expect):
            head, expr, tail = "expect ", st.expr, f" == {self.expected(st.expected)}"
        else:
            expr = st.expr
        lines, segments = self.expr_lines(expr, st.span)
        self.params = frozenset()
        if isinstance(st, S.Let):
            self.lets.add(st.name.name)  # visible from the next statement on
        self._place(notes, lines, segments)
        out = []
        for i, line in enumerate(lines):
            indent = INDENT if i else ""
            out += [indent + c for c in line.before]
            text = (head if i == 0 else indent) + line.text + (tail if i == len(lines) - 1 else "")
            out.append(text + "".join(f"  {c}" for c in line.after))
        return out

    def expr_lines(self, expr, span) -> tuple[list[_Line], list[tuple[int, int]]]:
        """The lines of a statement's expression and the source range each line came from."""
        chain = [expr]  # the outermost pipeline, head first
        while isinstance(chain[-1], S.Call) and is_stage(chain[-1].args, self.is_const):
            chain.append(chain[-1].args[0])
        chain.reverse()
        broken = any(stage.piped and "\n" in self.text[prev.span.end:stage.func.span.start]
                     for prev, stage in zip(chain, chain[1:]))
        if not broken:
            return [_Line(self.expr(expr))], [(span.start, span.end)]
        lines = [_Line(self.expr(chain[0]))] + [_Line(f"|> {self.label(c)}") for c in chain[1:]]
        segments = [(span.start, chain[0].span.end)]
        segments += [(c.func.span.start, c.span.end) for c in chain[1:]]
        return lines, segments

    def _place(self, notes: Sequence, lines: list[_Line], segments) -> None:
        """Each comment of a statement goes after the line it trails, else above a line."""
        starts = [s for s, _ in segments]
        for tok in notes:
            k = max(0, bisect.bisect_right(starts, tok.start_pos) - 1)
            end = segments[k][1]
            if tok.start_pos < end:  # inside a line's own text: it moves above that line
                lines[k].before.append(_comment(tok))
            elif "\n" not in self.text[end:tok.start_pos] or k + 1 == len(lines):
                lines[k].after.append(_comment(tok))
            else:
                lines[k + 1].before.append(_comment(tok))
        for line in lines:  # one trailing comment a line; earlier ones go above it
            line.before += line.after[:-1]
            line.after = line.after[-1:]

    # -- expressions ---------------------------------------------------------------------
    def expr(self, e) -> str:
        return layout(e, self.parts, self.is_const)

    def parts(self, e):
        if isinstance(e, S.Literal):
            return self.literal(e)
        if isinstance(e, S.Var):
            return e.name if self.bound(e.name) else _value_word(e.name)
        return self.label(e), e.args

    def label(self, call: S.Call) -> str:
        if not call.values:
            return call.func.name
        groups = [f"{v.key.name}={v.value}" if isinstance(v, S.Keyword)
                  else " ".join(canonical_value(w.name) for w in v.words) for v in call.values]
        return f"{call.func.name}[{', '.join(groups)}]"

    def is_const(self, e) -> bool:
        if isinstance(e, S.Var):
            return not self.bound(e.name) and (
                e.name in BOOL_WORDS or type_of_value(canonical_value(e.name)) is not None)
        return isinstance(e, S.Literal)

    def bound(self, name: str) -> bool:
        return name in self.params or name in self.lets

    def literal(self, e: S.Literal) -> str:
        if isinstance(e.value, str):
            return e.span.text()  # as written: escapes round-trip exactly
        text = format_value(e.value)
        return text if isinstance(e.value, int) or _FLOAT.fullmatch(text) else e.span.text()

    def expected(self, e) -> str:
        # expect's right side is always a value, whatever the lets are called
        return _value_word(e.name) if isinstance(e, S.Var) else self.literal(e)


def _value_word(name: str) -> str:
    return format_value(BOOL_WORDS[name]) if name in BOOL_WORDS else canonical_value(name)


def _comments(text: str) -> list:
    return comments(text) if "#" in text else []  # lexing again costs a second at 10,000 deep


def _comment(tok) -> str:
    return str(tok).rstrip()


def _check_same(before: Program, notes: Sequence, out: str, name: str) -> None:
    """The formatted text must mean what the file meant; otherwise it is a formatter bug."""
    from clevrlang.language.metadata import read_metadata

    try:
        after = check_module(parse_module(out, name))
    except ClevrError as e:
        raise _bug(name, f"it does not parse: {e.message}") from None
    if [_comment(t) for t in _comments(out)] != [_comment(t) for t in notes]:
        raise _bug(name, "its comments differ")
    if not _same_roots(before, after):
        raise _bug(name, "it is a different program")
    try:
        metadata = read_metadata(before)
    except ClevrError:  # malformed #@ JSON is convert's to report; its text is kept as is
        return
    if read_metadata(after) != metadata:
        raise _bug(name, "a #@ line moved to another result")


def _same_roots(a: Program, b: Program) -> bool:
    def key(p: Program):
        return ([(r.node, r.is_expect, type(r.expected), r.expected, r.lets) for r in p.roots],
                p.names)

    return key(a) == key(b)  # nodes are interned: equal means the same object


def _bug(name: str, why: str) -> ClevrError:
    return ClevrError(f"formatting would change the file's meaning ({why}); the file is left "
                      "as it is -- please report this", where=name)


# -- files (the CLI's `clevr fmt`) --------------------------------------------------------
def format_files(paths: Sequence[str], echo: Callable[..., None], check: bool = False,
                 write: bool = False) -> int:
    """Format each file: print it, or with ``check`` print a diff of each that would change,
    or with ``write`` rewrite each that changes (atomically). Returns the exit code: 0, 1
    when ``check`` finds a file to change, else the worst error's code (a file with an error
    is reported and never written). ``echo(text, err=..., nl=...)`` prints (click.echo)."""
    from clevrlang.atomic import write_text
    from clevrlang.files import read_text

    if check and write:
        raise UsageError("--check and --write clash: --check changes nothing")
    changed, same, failed = [], 0, []
    for path in paths:
        try:
            old = read_text(path, "a .clv file")
            new = format_text(old, path)
        except ClevrError as e:
            echo(e.render(), err=True)
            failed.append(e.exit_code)
            continue
        if not (check or write):
            echo(new, nl=False)
        elif new == old:
            same += 1
        else:
            changed.append(path)
            if check:
                echo(diff(old, new, path), nl=False)
                echo(f"would reformat {path}", err=True)
            else:
                write_text(path, new)
                echo(f"reformatted {path}", err=True)
    if check or write:
        echo(_summary(len(changed), same, len(failed), check), err=True)
    if failed:
        return max(failed)
    return ExitCode.FAILED if check and changed else ExitCode.OK


def diff(old: str, new: str, path: str) -> str:
    """A unified diff of a file and its formatted text (git's mark for a missing newline)."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"{path} (original)", f"{path} (formatted)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _summary(changed: int, same: int, failed: int, check: bool) -> str:
    def files(n: int) -> str:
        return f"{n} file{'' if n == 1 else 's'}"

    parts = []
    if changed:
        parts.append(f"{files(changed)} {'would be reformatted' if check else 'reformatted'}")
    if same:
        parts.append(f"{files(same)} {'already formatted' if check else 'left unchanged'}")
    if failed:
        parts.append(f"{files(failed)} could not be formatted")
    return ", ".join(parts) or "no files"
