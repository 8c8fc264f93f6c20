"""The REPL, headless: prompt_toolkit's pipe input drives the real prompt; no terminal."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from clevrlang.highlight import function_names, keywords
from clevrlang.language.errors import UsageError
from clevrlang.language.vocabulary import (
    ATTRIBUTE_TYPES, ATTRIBUTES, ENUMS, FUNCTIONS, LEARNED_CODECS, RELATIONS, STANDARD_CODECS,
    TASK_CODECS, TYPE_NAMES, Type,
)
from clevrlang.repl.commands import COMMANDS
from clevrlang.repl.prompt import (
    ClevrCompleter, _grouped, history_path, open_history, run_lines, run_prompt,
)
from clevrlang.repl.session import Session, is_complete, join_trailing_pipes, open_session

SCENES = Path(__file__).parent / "fixtures" / "clevr_generator" / "scenes.json"
UP, ENTER, EOF = "\x1b[A", "\r", "\x04"


class Transcript:
    """An echo that records what the session printed."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def __call__(self, text, kind="out"):
        self.lines.append((text, kind))

    @property
    def text(self) -> str:
        return "\n".join(t for t, _ in self.lines)

    def kinds(self, kind):
        return [t for t, k in self.lines if k == kind]


@pytest.fixture
def session():
    out = Transcript()
    s = open_session(scenes=str(SCENES), index=0, echo=out)
    s.out = out
    return s


def drive(session, *keys: str, history=None, pause: float = 0.3) -> str:
    """Type ``keys`` into the real prompt (then Ctrl-D); returns what the session printed.

    Several chunks are typed ``pause`` seconds apart, so that completion (computed in the
    background) has finished before the next key arrives.
    """
    before = len(session.out.lines)
    with create_pipe_input() as pipe:
        def typist():
            for chunk in keys[1:] + (EOF,):
                time.sleep(pause)
                pipe.send_text(chunk)

        pipe.send_text(keys[0])
        thread = threading.Thread(target=typist, daemon=True)
        thread.start()
        run_prompt(session, history=history or InMemoryHistory(), input=pipe,
                   output=DummyOutput())
        thread.join()
    return "\n".join(t for t, _ in session.out.lines[before:])


def completions(session, text: str, tab: bool = True) -> list[str]:
    """What Tab (or, with ``tab=False``, typing) offers at the end of ``text``."""
    doc = Document(text, len(text))
    event = CompleteEvent(text_inserted=not tab, completion_requested=tab)
    return [c.text for c in ClevrCompleter(session).get_completions(doc, event)]


# ---------------------------------------------------------------------------- completion

def test_completes_function_names_from_the_vocabulary(session):
    assert completions(session, "scene() |> cou") == ["count"]
    assert set(completions(session, "scene() |> filter_")) == {
        n for n in FUNCTIONS if n.startswith("filter_")}
    every = set(completions(session, "scene() |> "))
    assert set(function_names()) <= every and not set(keywords()) & every


def test_completes_values_for_the_function_before_the_bracket(session):
    attr_values = {v for a in ATTRIBUTES for v in ENUMS[ATTRIBUTE_TYPES[a]]}
    assert set(completions(session, "scene() |> filter[")) == attr_values
    assert set(completions(session, "scene() |> filter[large re")) == {"red"}
    assert set(completions(session, "scene() |> filter_shape[")) == set(ENUMS[Type.SHAPE])
    assert set(completions(session, "relate[")) == set(RELATIONS)
    assert set(completions(session, 'load("a.png") |> compress[')) == \
        set(STANDARD_CODECS + LEARNED_CODECS + TASK_CODECS) | {"bytes="}
    # Closed brackets end the value context: back to function names.
    assert "count" in completions(session, "scene() |> filter[red] |> c")
    assert "red" in completions(session, "scene() |> filter[", tab=False)


def test_typing_pops_no_menu_for_an_empty_word(session):
    assert completions(session, "count(\n    ", tab=False) == []
    assert completions(session, "scene() |> ", tab=False) == []
    assert "count" in completions(session, "scene() |> co", tab=False)


def test_completes_session_names_keywords_and_types(session):
    assert session.execute("let my_reds = scene() |> filter[red]")
    assert session.execute("def twice(o: Objects) -> Objects = union(o, o)")
    assert "my_reds" in completions(session, "count(my_")
    assert "twice" in completions(session, "tw")
    assert set(completions(session, "le")) == {"let", "less_than"}
    assert "let" not in completions(session, "count(le")  # keywords start statements only
    assert "let" not in completions(session, "count(\n  le")
    assert set(completions(session, "def f(x: Obj")) == {"Objects", "Object"}
    assert set(completions(session, "def f(x: Objects) -> ")) == set(TYPE_NAMES)
    assert {"yes", "no", "red"} <= set(completions(session, "expect exist(scene()) == "))


def test_completes_commands_and_their_arguments(session, tmp_path):
    assert completions(session, ":tr") == [":trace"]
    assert {f":{n}" for n in COMMANDS} == set(completions(session, ":"))
    assert completions(session, ":backend sym") == ["symbolic"]
    assert completions(session, ":compare scene() |> cou") == ["count"]
    (tmp_path / "picture.png").write_bytes(b"")
    assert completions(session, f":image {tmp_path}/pic") == ["ture.png"]
    assert completions(session, f":show scene() {tmp_path}/pic") == ["ture.png"]
    assert completions(session, ":show scene() |> fil")[0] == "filter"
    assert completions(session, f'load("{tmp_path}/pic') == ["ture.png"]


# ------------------------------------------------------------------------- the prompt

def test_prompt_runs_lines_and_tab_completes(session):
    out = drive(session, "scene() |> count" + ENTER + "scene() |> filter[red] |> cou", "\t",
                ENTER, ENTER)
    assert out.splitlines()[:2] == ["10", "2"]


def test_bad_line_shows_a_caret_and_the_session_goes_on(session):
    out = drive(session, "scene() |> filter[blu] |> count" + ENTER + "scene() |> count" + ENTER)
    assert "type error: 'blu' is not a size, color, material or shape" in out
    assert "                    ^~~" in out and "did you mean 'blue'?" in out
    assert out.splitlines()[-1] == "10"
    assert "Traceback" not in out


def test_enter_continues_while_brackets_are_open(session):
    out = drive(session, "count(" + ENTER + "scene() |> filter[small" + ENTER + "])" + ENTER)
    assert out == "5"


def test_a_trailing_pipe_and_a_leading_pipe_continue(session):
    out = drive(session, "scene() |>" + ENTER + "filter[cube] |> count" + ENTER)
    assert out == "1"
    out = drive(session, "let big = scene() |> filter[large]" + ENTER + "|> count" + ENTER)
    assert out.splitlines() == ["big : Objects", "big : Int"]
    assert session.checker.lets["big"][0].op == "count"  # the let was extended, as in a file


def test_history_lasts_from_one_run_to_the_next(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEVRLANG_HOME", str(tmp_path / "home"))
    path = history_path()
    assert path == tmp_path / "home" / "history"
    first = open_session(scenes=str(SCENES), echo=Transcript())
    first.out = first.echo
    metal = drive(first, "scene() |> filter[metal] |> count" + ENTER, history=open_history())
    assert path.is_file() and "scene() |> filter[metal] |> count" in path.read_text()
    second = open_session(scenes=str(SCENES), echo=Transcript())
    second.out = second.echo
    out = drive(second, UP + ENTER + "scene() |> count" + ENTER, history=open_history())
    assert out.splitlines() == [metal, "10"]  # Up recalled the first run's line
    assert list(FileHistory(str(path)).load_history_strings()) == [
        "scene() |> count", "scene() |> filter[metal] |> count"]  # appended, newest first


def test_history_that_cannot_be_written_is_kept_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    notes = Transcript()
    assert isinstance(open_history(blocker / "history", echo=notes), InMemoryHistory)
    assert "history is not kept" in notes.text
    assert blocker.read_text() == "not a folder"


# ---------------------------------------------------------------------------- session

def test_lets_defs_and_expects_accumulate(session):
    for line in ["let s = scene() |> filter[small]", "def n(o: Objects) -> Int = o |> count",
                 "n(s)", "expect n(s) == 5", "expect n(s) == 4",
                 "def n(o: Objects) -> Int = o |> filter[red] |> count", "n(s)"]:
        assert session.execute(line)
    assert session.out.kinds("out") == ["5", "pass  expect n(s) == 5",
                                        "FAIL  expect n(s) == 4\n    expected 4, got 5", "1"]


def test_a_failed_def_keeps_the_old_one(session):
    session.execute("def n(o: Objects) -> Int = o |> count")
    session.execute("def n(o: Objects) -> Int = o |> exist")
    assert "declared to return Int" in session.out.kinds("error")[-1]
    session.execute("n(scene())")
    assert session.out.lines[-1] == ("10", "out")


def test_execution_errors_name_the_node(session):
    session.execute("scene() |> unique")
    assert session.out.kinds("error") == [
        "while executing unique: execution error: unique needs exactly one object, found 10 "
        "(#0, #1, #2, #3, #4, #5, #6, #7, #8, #9)"]


def test_internal_errors_are_one_line(session, monkeypatch):
    monkeypatch.setattr(Session, "run_source", lambda self, text: 1 / 0)
    assert session.execute("scene()")
    assert session.out.kinds("error") == ["internal error: ZeroDivisionError: division by zero"]


def test_objects_print_with_ids_and_attributes(session):
    session.execute("scene() |> filter[cube]")
    assert session.out.lines[-1] == ("{#8 small brown metal cube}", "out")


def test_no_scene_is_a_clear_message():
    out = Transcript()
    s = Session(echo=out)
    s.execute("scene() |> count")
    assert out.kinds("error")[0].startswith("usage error: no current scene")
    s.execute("3")  # constants need no scene
    assert out.lines[-1] == ("3", "out")


def test_docstring_examples_run():
    import doctest

    import clevrlang.repl.session

    result = doctest.testmod(clevrlang.repl.session)
    assert result.attempted > 0 and result.failed == 0


def test_is_complete_mirrors_the_grammar():
    assert not is_complete("count(scene()")
    assert not is_complete('count(scene(), "a)"')
    assert is_complete('load("a(b.png")')
    assert is_complete("scene() # (a comment")
    assert not is_complete("scene() |>  # more below")
    assert not is_complete("scene() \\")
    assert join_trailing_pipes("a |> # c\n  b") == "a  # c\n  |> b"


def test_piped_lines_are_grouped_as_the_grammar_groups_them():
    lines = ["scene()", "    |> filter[cube]", "    |> exist", ":type count", "count(", "scene())"]
    assert list(_grouped(lines)) == ["scene()\n    |> filter[cube]\n    |> exist", ":type count",
                                     "count(\nscene())"]


# ----------------------------------------------------------------------------- commands

def test_type_ir_and_trace(session):
    session.execute("let s = scene() |> filter[small]")
    session.execute(":type s |> unique")
    assert session.out.lines[-1] == ("s |> unique : Object", "out")
    session.execute(":type count")
    assert session.out.lines[-1] == ("count(Objects) -> Int", "out")
    session.execute(":ir union(s, s |> filter[red]) |> count")
    ir = [t for t, _ in session.out.lines[-6:]]
    assert ir[1].split() == ["%1", "filter_size[small](%0)", ":", "Objects", "#", "s"]
    assert ir[3].split()[:2] == ["%3", "union(%1,"]  # shared: %1 feeds both inputs' paths
    assert ir[5] == "5 nodes, 5 edges, depth 4"
    session.execute(":trace s |> filter[cube] |> count")
    trace = session.out.text.split("%0")[-1]
    assert "filter_shape[cube]" in trace and "{#8 small brown metal cube}" in trace
    assert trace.rstrip().endswith("count                        : Int      = 1")


def test_trace_shows_the_failing_node(session):
    session.execute(":trace scene() |> filter[small] |> unique")
    assert "(failed)" in session.out.kinds("error")[0]
    assert "unique needs exactly one object, found 5" in session.out.kinds("error")[1]


class _SeesOneFewer:
    """A stand-in perception back end: reads the image, 'misses' the scene's last object."""

    name, needs = "engineered", "images"

    def __init__(self, scene):
        self.scene = scene

    def _seen(self, image):
        from clevrlang.scene import Scene

        assert image.shape == (4, 4, 3)
        return Scene(dict(self.scene.raw, objects=self.scene.objects[:-1], relationships=None))

    def interpreter(self, image):
        from clevrlang.modules.symbolic import SceneInterpreter

        return SceneInterpreter(self._seen(image))

    def answer(self, programs, images, *, errors="raise"):
        from clevrlang.modules.symbolic_plan import SymbolicBackend

        return SymbolicBackend().answer(programs, [self._seen(i) for i in images], errors=errors)


def test_compare_lists_every_back_end(session):
    from clevrlang.backends import NAMES

    # Stand-ins keep this fast; the real ones are tried the same way (get_backend by name).
    session._backends["engineered"] = _SeesOneFewer(session.scene)
    session._backends["learned"] = UsageError("no default learned checkpoint is installed")
    session.execute(":compare scene() |> filter[small] |> count")
    assert "engineered  (error: the engineered back end needs an image)" in session.out.text
    session.set_image(None, np.zeros((4, 4, 3), np.uint8))
    session.execute(":compare scene() |> filter[small] |> count")
    rows = [t for t, _ in session.out.lines[-4:]]
    assert rows == ["  symbolic    5", "  engineered  4",
                    "  learned     (unavailable: no default learned checkpoint is installed)",
                    "the back ends disagree (2 different answers)"]
    assert [r.split()[0] for r in rows[:3]] == list(NAMES)


def test_scene_backend_env_and_help(session):
    session.execute(":scene")
    assert session.out.text.splitlines()[2].split()[:6] == \
        ["#0", "large", "brown", "metal", "sphere", "3,4,5"]
    session._backends["engineered"] = _SeesOneFewer(session.scene)  # fast stand-ins
    session._backends["learned"] = UsageError("no default learned checkpoint is installed")
    session.execute(":backend")
    assert [t for t, _ in session.out.lines[-3:]] == [
        "  symbolic    current", "  engineered  available",
        "  learned     unavailable: no default learned checkpoint is installed"]
    session.execute(":backend engineered")
    assert session.out.lines[-1] == ("back end: engineered (reads an image)", "note")
    session.execute("scene() |> count")
    assert session.out.kinds("error")[-1].startswith("usage error: the engineered back end needs an image")
    session.execute(":backend symbolc")
    assert "did you mean 'symbolic'?" in session.out.kinds("error")[-1]
    session.execute(":help")
    assert all(c.usage in session.out.text for c in COMMANDS.values())
    session.execute(":help relate")
    assert session.out.lines[-1][0].startswith("relate[Relation](Object) -> Objects")
    session.execute(":bogus")
    assert session.out.kinds("error")[-1].startswith("usage error: unknown command ':bogus'")
    assert not session.execute(":quit")


def _world(tmp_path: Path) -> Path:
    """A one-image world from the fixture's first scene, with boxes drawn around centres."""
    raw = json.loads(SCENES.read_text())["scenes"][0]
    for o in raw["objects"]:
        x, y = o["pixel_coords"][:2]
        o["bbox"] = [x - 8, y - 8, x + 8, y + 8]
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "CLEVR_val_scenes.json").write_text(json.dumps({"info": {}, "scenes": [raw]}))
    from clevrlang.images import save_image

    (tmp_path / "images" / "val").mkdir(parents=True)
    save_image(np.full((240, 320, 3), 128, np.uint8), tmp_path / "images" / "val" / raw["image_filename"])
    return tmp_path


def test_show_draws_the_selected_objects(tmp_path):
    out = Transcript()
    s = open_session(world=str(_world(tmp_path)), index=0, echo=out)
    assert s.scene is not None and s.image_path.endswith("CLEVR_val_000000.png")
    s.execute(f":show scene() |> filter[red] |> count {tmp_path / 'red.png'}")
    assert out.lines[-1] == (f"wrote {tmp_path / 'red.png'}: 2 object(s) boxed", "note")
    from PIL import Image

    assert Image.open(tmp_path / "red.png").width > 320 * 2  # enlarged image and a legend
    s.execute(":image " + str(tmp_path / "images" / "val" / "CLEVR_val_000000.png"))
    assert "scenes/CLEVR_val_scenes.json #0" in out.lines[-1][0]  # its world's scene, found


def test_show_without_an_image_says_why(session, tmp_path):
    session.execute(f":show scene() {tmp_path / 'x.png'}")
    assert session.out.kinds("error")[0].startswith("usage error: no image of this scene")
    session.execute(":show scene()")
    assert "expected an expression and then a file name" in session.out.kinds("error")[1]


def test_open_session_refuses_mixed_inputs(tmp_path):
    with pytest.raises(UsageError):
        open_session(world=str(tmp_path), image="a.png")


def test_clevr_repl_reads_a_pipe_as_a_script(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("scene()\n  |> filter[red]\n  |> count\n"
                                                 "scene() |> filter[bleu]\n:type count\n"))
    code, out, err = cli("repl", "--scene", SCENES, "--index", "0")
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["clevr> scene()", "  ...    |> filter[red]", "  ...    |> count", "2"]
    assert "did you mean 'blue'?" in out and lines[-1] == "count(Objects) -> Int"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_clevr_repl_in_a_terminal(tmp_path):
    """The real thing: `clevr repl` on a pseudo-terminal, a line typed, then Ctrl-D."""
    import os
    import pty
    import select
    import subprocess

    master, slave = pty.openpty()
    env = dict(os.environ, CLEVRLANG_HOME=str(tmp_path), TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-m", "clevrlang", "repl", "--scene", str(SCENES)],
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen = b""

    def screen() -> str:  # what was written, without the terminal's control sequences
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))

    def read_until(pattern: str, timeout: float = 30) -> bool:
        nonlocal seen
        end = time.time() + timeout
        while not re.search(pattern, screen()) and time.time() < end:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                if b"\x1b[6n" in chunk:  # answer the cursor-position query, as a terminal does
                    os.write(master, b"\x1b[1;1R")
        return bool(re.search(pattern, screen()))

    try:
        assert read_until(r"clevr>"), screen()
        os.write(master, b"scene() |> filter[sphere] |> count\r")
        # The next prompt must be up (terminal in raw mode) before Ctrl-D, or the terminal's
        # line discipline, not the REPL, would take it.
        assert read_until(r"\n3\r?\n[\s\S]*clevr>"), screen()
        os.write(master, b"\x04")
        end = time.time() + 20
        while proc.poll() is None and time.time() < end:
            read_until(r"(?!)", 0.2)  # keep draining the terminal, or its writes would block
        assert proc.poll() == 0, screen()
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert (tmp_path / "history").read_text().endswith("+scene() |> filter[sphere] |> count\n")


def test_a_script_stops_at_quit(session):
    run_lines(session, ["scene() |> count", "", ":quit", "scene() |> filter[red] |> count"])
    assert [t for t, _ in session.out.lines] == ["clevr> scene() |> count", "10", "clevr> :quit"]
