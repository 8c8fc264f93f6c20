"""clevr ask, the REPL's ?, clevr eval --programs predicted and clevrlang.ask, with the
installed default model."""

import json

import pytest

import clevrlang
from clevrlang.language.errors import ExitCode
from clevrlang.language.program import parse
from clevrlang.repl.session import Session

from conftest import FIXTURES

GEN = FIXTURES / "clevr_generator"
SCENES = GEN / "scenes.json"


def test_ask_prints_the_program_its_type_and_the_answer(cli):
    code, out, err = cli("ask", "How many red cubes are there?", "--scenes", SCENES,
                         "--index", 0)
    assert code == ExitCode.OK, err
    program, typ, answer = out.splitlines()
    assert program == "scene() |> filter_color[red] |> filter_shape[cube] |> count"
    assert typ == "  : Int"
    expected = clevrlang.get_backend("symbolic").answer(
        [parse(program)], [clevrlang.load_scenes(SCENES)[0]])[0]
    assert answer == f"answer: {expected}"


def test_ask_top_shows_k_candidates_best_first(cli):
    code, out, _ = cli("ask", "Is there a big ball?", "--top", 4)
    assert code == ExitCode.OK
    rows = [line for line in out.splitlines() if line.lstrip()[:2] in ("1.", "2.", "3.", "4.")]
    assert len(rows) == 4
    scores = [float(r.split()[1]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert "exist" in rows[0]


def test_an_unknown_word_is_a_usage_error_unless_guessing(cli):
    code, _, err = cli("ask", "How many spheers are there?")
    assert code == ExitCode.USAGE
    assert "unknown word 'spheers'" in err and "did you mean 'spheres'" in err
    assert "Traceback" not in err
    code, out, _ = cli("ask", "How many spheers are there?", "--guess")
    assert code == ExitCode.OK and out.splitlines()[1] == "  : Int"


def test_a_backend_without_an_input_is_a_usage_error(cli):
    code, _, err = cli("ask", "How many cubes are there?", "--backend", "symbolic")
    assert code == ExitCode.USAGE and "--scenes, --world or --image" in err


def test_nonsense_says_the_model_is_unsure(cli):
    code, out, _ = cli("ask", "same same same the of of ; ; what", "--guess")
    assert code == ExitCode.OK
    assert "unsure" in out and " 2. " in out


def test_python_api():
    p = clevrlang.ask("What color is the large metal sphere?")
    assert p.to_clv() == ("scene() |> filter_size[large] |> filter_material[metal] "
                          "|> filter_shape[sphere] |> unique |> query_color")
    top = clevrlang.ask_top("What color is the large metal sphere?", 3)
    assert [g.program.node for g in top][0] is p.node and top[0].score > top[1].score


def test_repl_question_shows_the_program_runs_it_and_keeps_it_for_the_history():
    lines = []
    scene = clevrlang.load_scenes(SCENES)[0]
    session = Session(scene=scene, echo=lambda text, kind="out": lines.append((kind, text)))
    session.execute("? how many cylinders are there")
    program = "scene() |> filter_shape[cylinder] |> count"
    assert lines[0] == ("note", program)
    count = sum(o["shape"] == "cylinder" for o in scene.raw["objects"])
    assert lines[-1] == ("out", str(count))
    assert session.asked == [program]
    session.execute("? how many cylindres are there")
    assert "did you mean 'cylinders'" in lines[-1][1]
    session.execute("?? how many cylindres are there")  # ?? guesses through unknown words
    assert lines[-1][0] == "out"


def test_eval_programs_predicted_reports_exact_match_beside_accuracy(cli):
    args = ["eval", "--questions", GEN / "questions_released.json", "--scenes", SCENES,
            "--limit", 60, "--quiet"]
    code, out, _ = cli(*args, "--programs", "predicted", "--json")
    assert code == ExitCode.OK
    result = json.loads(out)
    assert result["programs"]["total"] == 60 and result["programs"]["exact_match"] >= 57
    assert result["symbolic"]["correct"] >= 57
    code, out, _ = cli(*args, "--programs", "predicted")
    assert "exact match" in out
    code, out, _ = cli(*args, "--json")  # given programs stay the default
    assert "programs" not in json.loads(out) and json.loads(out)["symbolic"]["correct"] == 60


def test_the_asked_program_is_in_the_prompts_history_to_edit_and_rerun():
    """The real prompt, headless: `?` a question, then Up recalls the program, not the text."""
    import threading
    import time

    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from clevrlang.repl.prompt import run_prompt

    lines = []
    session = Session(scene=clevrlang.load_scenes(SCENES)[0],
                      echo=lambda text, kind="out": lines.append((kind, text)))
    history = InMemoryHistory()
    with create_pipe_input() as pipe:
        def typist():
            for chunk in ("\x1b[A", "\x7f" * 5 + "filter[red] |> count\r", "\x04"):
                time.sleep(0.5)
                pipe.send_text(chunk)

        pipe.send_text("? how many cylinders are there\r")
        thread = threading.Thread(target=typist, daemon=True)
        thread.start()
        run_prompt(session, history=history, input=pipe, output=DummyOutput())
        thread.join()
    program = "scene() |> filter_shape[cylinder] |> count"
    assert program in list(history.load_history_strings())
    # Up brought back the program (the newest entry); the user edited and re-ran it.
    objects = clevrlang.load_scenes(SCENES)[0].raw["objects"]
    red = sum(o["shape"] == "cylinder" and o["color"] == "red" for o in objects)
    assert lines[-1] == ("out", str(red)), lines
