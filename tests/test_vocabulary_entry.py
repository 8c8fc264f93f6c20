"""Adding a function to the language is one vocabulary entry plus its meaning in one place.

A fresh interpreter (a copy of the vocabulary no other test sees) adds ``at_least(Int,
Int) -> Bool`` -- family ``compare``, operator ``ge`` -- to ``vocabulary.FUNCTIONS`` and its
operator to ``semantics.OPERATORS``, then checks that the checker, the JSON converter,
``clevr doc``, the batched symbolic back end and its interpreter all know it. (The learned
back end needs a trained module for it too: weights, not code.)
"""

import json
import subprocess
import sys

SCRIPT = r'''
import json, operator, sys
from clevrlang.language import vocabulary as V
from clevrlang.language import semantics

V.FUNCTIONS["at_least"] = V.Function(
    "at_least", (V.Type.INT, V.Type.INT), V.Type.BOOL, family="compare", operator="ge",
    clevr=True, doc="Whether the first count is at least the second.")
semantics.OPERATORS["ge"] = operator.ge

import contextlib, io
from clevrlang import Program, get_backend, parse
from clevrlang.cli import main
from clevrlang.language.errors import ClevrTypeError
from clevrlang.scene import Scene

out = {}
text = "at_least(scene() |> filter[red] |> count, scene() |> filter[cube] |> count)"
program = parse(text)
out["type"] = str(program.node.type)
try:
    parse("at_least(scene(), 1)")
except ClevrTypeError as e:
    out["type_error"] = e.message
nodes = program.to_clevr_json()
out["json_last"] = nodes[-1]
out["json_back"] = Program.from_clevr_json(nodes).node is program.node
doc = io.StringIO()
with contextlib.redirect_stdout(doc):
    main(["doc"])
out["doc"] = [line for line in doc.getvalue().splitlines() if "at_least" in line]
objs = [{"size": "large", "color": c, "material": "metal", "shape": s}
        for c, s in (("red", "cube"), ("red", "sphere"), ("blue", "cube"))]
rels = {r: [[] for _ in objs] for r in ("left", "right", "front", "behind")}
scene = Scene({"objects": objs, "relationships": rels})
fewer = parse("at_least(scene() |> filter[blue] |> count, scene() |> filter[cube] |> count)")
backend = get_backend("symbolic")
out["batched"] = backend.answer([program, fewer], [scene, scene])
out["interpreter"] = [backend.interpreter(scene).value(p.node) for p in (program, fewer)]
json.dump(out, sys.stdout)
'''


def test_a_new_function_is_known_everywhere_from_its_one_entry():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["type"] == "Bool"
    assert out["type_error"] == "at_least needs Int for its 1st input, found Objects"
    assert out["json_last"] == {"function": "at_least", "inputs": [2, 5], "value_inputs": []}
    assert out["json_back"] is True
    assert out["doc"] == ["| `at_least(Int, Int) -> Bool` | Whether the first count is at "
                          "least the second. |"]
    assert out["batched"] == ["yes", "no"]  # 2 red >= 2 cubes; 1 blue < 2 cubes
    assert out["interpreter"] == [True, False]
