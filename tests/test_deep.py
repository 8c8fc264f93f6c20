"""Depth never matters: 10,000-deep programs parse, check, print, convert and run.

Each program is generated here: a 10,000-stage ``|>`` pipeline, the same depth written as
nested calls, a chain of 10,000 lets (each through a ``def``), and a 10,000-deep chain of
two-input functions. A chain of ``filter[red]`` keeps what one filter keeps, so the answers
are known without running anything: the red objects of the scene, counted from its JSON.
Before the walks were iterative, some 300 levels raised RecursionError.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from clevrlang import load_scenes, parse
from clevrlang.language.errors import ClevrSyntaxError, ClevrTypeError
from clevrlang.language.ir import Node, postorder
from clevrlang.language.parser import parse_module
from clevrlang.language.program import Program, check_module

N = 10_000
SCENES = Path(__file__).parent / "fixtures" / "clevr_generator" / "scenes.json"

PIPE = "scene()" + " |> filter[red]" * N + " |> count"
NEST = "count(" + "filter_color[red](" * N + "scene()" + ")" * N + ")"
CANONICAL = "scene()" + " |> filter_color[red]" * N + " |> count"  # as the IR prints
LETS = ("def red(x: Objects) -> Objects = x |> filter[red]\nlet x0 = scene()\n"
        + "".join(f"let x{i + 1} = x{i} |> red\n" for i in range(N))
        + f"x{N} |> count\n")


def reds(scene) -> int:
    return sum(o["color"] == "red" for o in scene.objects)


@pytest.fixture(scope="module")
def scenes():
    return load_scenes(SCENES)


@pytest.fixture(scope="module")
def pipe_module():
    return parse_module(PIPE, "pipe.clv")


@pytest.fixture(scope="module")
def pipe(pipe_module):
    return check_module(pipe_module)


@pytest.fixture(scope="module")
def lets():
    return parse(LETS, "lets.clv")


@pytest.fixture(scope="module")
def binary():
    """``intersect(... intersect(intersect(scene(), scene() |> filter[red]), ...) ...)``:
    10,000 two-input nodes, built as IR (its text goes through the parser in a test)."""
    everything = Node.make("scene")
    red = Node.make("filter_color", ("red",), (everything,))
    node = everything
    for _ in range(N):
        node = Node.make("intersect", (), (node, red))
    return Node.make("count", (), (node,))


def test_the_three_spellings_are_one_ir_node(pipe, lets):
    assert parse(NEST).node is pipe.node and lets.node is pipe.node
    assert pipe.node.depth == N + 1 and len(pipe.nodes()) == N + 2
    chain = postorder([pipe.node])
    assert [n.op for n in chain[:2]] == ["scene", "filter_color"] and chain[-1].op == "count"
    assert len(lets.names) == N + 1  # every let kept, for printing back


def test_syntax_tree_and_ir_nodes_are_usable_objects(pipe_module, pipe):
    stmt = pipe_module.statements[0]
    assert hash(stmt) == hash(stmt) and stmt == stmt  # identity: no walk down the tree
    assert repr(stmt).startswith("ExprStmt('scene() |> filter[red]") and len(repr(stmt)) < 100
    assert repr(stmt.expr).endswith("at pipe.clv:1:1)")
    assert pickle.loads(pickle.dumps(pipe.node)) is pipe.node  # interned again


def test_printing_and_json_round_trip(pipe):
    assert pipe.to_clv() == CANONICAL  # the CLI test parses it back
    nodes = pipe.to_clevr_json()
    assert len(nodes) == N + 2 and nodes[-1]["inputs"] == [N]
    assert Program.from_clevr_json(nodes).node is pipe.node
    generator = pipe.to_clevr_json(style="generator")
    assert Program.from_clevr_json(generator).node is pipe.node


def test_a_let_chain_prints_and_converts_with_its_names(lets):
    assert lets.to_clv().splitlines() == (
        ["let x0 = scene()"] + [f"let x{i + 1} = x{i} |> filter_color[red]" for i in range(N)]
        + [f"x{N} |> count"])
    nodes = lets.to_clevr_json()
    assert Program.from_clevr_json(nodes).to_clevr_json() == nodes


def test_two_input_chains_print_convert_and_run(binary, scenes):
    program = Program.from_node(binary)
    assert binary.depth == N + 2
    assert program.to_clv() == ("intersect(" * N + "scene()"
                                + ", scene() |> filter_color[red])" * N + " |> count")
    nodes = program.to_clevr_json()
    assert Program.from_clevr_json(nodes).node is binary
    from clevrlang.backends import get_backend
    from clevrlang.modules.symbolic import SceneInterpreter

    assert SceneInterpreter(scenes[0]).value(binary) == reds(scenes[0])
    assert get_backend("symbolic").answer([binary] * 4, scenes[:4]) == \
        [str(reds(s)) for s in scenes[:4]]


def test_symbolic_interpreter_and_batched_plan(pipe, scenes):
    from clevrlang.backends import get_backend
    from clevrlang.modules.symbolic import SceneInterpreter

    expected = [str(reds(s)) for s in scenes]
    assert len(set(expected)) > 2  # the fixture tells the cases apart
    assert [str(SceneInterpreter(s).value(pipe.node)) for s in scenes[:5]] == expected[:5]
    assert get_backend("symbolic").answer([pipe] * len(scenes), scenes) == expected


def test_errors_deep_inside_are_located_clevr_errors():
    wrong = "scene()" + " |> filter[red]" * N + " |> query_color"
    with pytest.raises(ClevrTypeError) as e:
        parse(wrong, "deep.clv")
    assert "query_color needs Object for its piped input" in e.value.message
    assert e.value.span.text() == wrong.removesuffix(" |> query_color")
    assert e.value.span.location() == "deep.clv:1:1" and len(e.value.render()) < 1000
    with pytest.raises(ClevrSyntaxError) as e:
        parse_module(NEST[:-1], "deep.clv")  # one ')' short
    assert "missing ')'" in e.value.render()


@pytest.fixture
def one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 10,000 tiny convolutions: threads only wait on each other
    yield torch
    torch.set_num_threads(threads)


def test_learned_back_end_compiles_and_runs_a_deep_program(pipe, tmp_path, one_thread):
    torch = one_thread
    from clevrlang.backends import get_backend
    from clevrlang.modules.learned.checkpoint import save_model
    from clevrlang.modules.learned.compiler import compile_batch
    from clevrlang.modules.learned.model import NMN, ModelConfig

    torch.manual_seed(0)
    config = ModelConfig(channels=4, image_size=(64, 48), stem_widths=(4, 4), classifier_proj=2,
                         classifier_hidden=4)  # untrained and tiny: only the walks matter
    save_model(tmp_path / "best.safetensors", NMN(config).eval())
    backend = get_backend("learned", checkpoint=tmp_path, device="cpu")
    plan = compile_batch([pipe.node], [0])
    assert [s.token for s in plan.steps] == ["filter_color[red]"] * N + ["count"]
    image = torch.zeros(48, 64, 3, dtype=torch.uint8).numpy()
    (batch,) = backend.answer([pipe], [image])
    interp = backend.interpreter(image)
    assert interp.value(pipe.node) == batch
    assert len(interp.values) == N + 2


def test_cli_checks_runs_formats_and_converts(cli, tmp_path, scenes, pipe):
    src = tmp_path / "pipe.clv"
    src.write_text(PIPE + "\n")
    assert cli("check", src)[0] == 0
    code, out, err = cli("run", src, "--scene", SCENES, "--index", 9)
    assert (code, out.strip()) == (0, f"{src}:1: {reds(scenes[9])}"), err
    code, out, err = cli("fmt", src)
    assert (code, out, err) == (0, PIPE + "\n", "")
    (tmp_path / "nest.clv").write_text(NEST + "\n")
    assert cli("convert", tmp_path / "nest.clv", tmp_path / "q.json")[0] == 0
    questions = json.loads((tmp_path / "q.json").read_text())["questions"]
    assert len(questions[0]["program"]) == N + 2
    assert cli("convert", tmp_path / "q.json", tmp_path / "back.clv")[0] == 0
    assert CANONICAL in (tmp_path / "back.clv").read_text().splitlines()


def test_json_with_every_node_shared_reads_back_exactly():
    """``union(n, n)`` 10,000 times: every node is used twice, so each becomes a let (the
    names union, union2, ... union10000 were found in quadratic time: 18 s)."""
    nodes = [{"function": "scene", "inputs": [], "value_inputs": []}]
    nodes += [{"function": "union", "inputs": [k, k], "value_inputs": []} for k in range(N)]
    nodes += [{"function": "count", "inputs": [N], "value_inputs": []}]
    program = Program.from_clevr_json(nodes)
    assert program.node.depth == N + 1 and len(program.names) == N
    assert program.to_clevr_json() == nodes
    text = program.to_clv()
    assert text.splitlines()[-1] == f"union(union{N}, union{N}) |> count"
    assert parse(text).to_clevr_json() == nodes  # the lets read back to the same DAG


def test_repl_ir_and_trace_walk_a_deep_program(scenes):
    from clevrlang.repl.session import open_session

    out: list[tuple[str, str]] = []
    session = open_session(scenes=str(SCENES), index=9, echo=lambda t, k="out": out.append((t, k)))
    session.execute("let deep = " + PIPE)
    session.execute(":ir deep")
    assert out[-1][0] == f"{N + 2} nodes, {N + 1} edges, depth {N + 1}"
    session.execute(":trace deep")
    assert out[-1][0].split() == [f"%{N + 1}", "count", ":", "Int", "=", str(reds(scenes[9]))]
    assert not [t for t, k in out if k == "error"]
