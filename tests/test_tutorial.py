"""CI runs examples/tutorial.ipynb top to bottom in a real Jupyter kernel: an error cell fails.

The kernel is ipykernel's ``python3`` spec, whose ``python`` jupyter_client replaces with this
interpreter, so the notebook runs against the package under test (~20 s on two CPU cores).
"""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

TUTORIAL = pathlib.Path(__file__).parent.parent / "examples" / "tutorial.ipynb"


def test_tutorial_is_stored_without_outputs():
    nb = nbformat.read(TUTORIAL, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.notebook
def test_tutorial_runs_top_to_bottom_in_a_kernel(tmp_path):
    nb = nbformat.read(TUTORIAL, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError at the first error cell
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [set(o.get("data", {})) for o in outputs]
    assert sum("image/png" in k for k in kinds) >= 2  # the scene and the saliency maps
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum('class="clevrlang-trace"' in h for h in html) == 3  # one per back end
    assert any('class="clevrlang-comparison"' in h for h in html)
    assert any('class="clevrlang-roundtrip"' in h for h in html)
    text = "\n".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in outputs)
    assert "type error: count needs Objects" in text and "^~~~" in text  # the caret message
    assert "Traceback" not in text
