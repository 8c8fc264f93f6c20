"""The installed layout and the import budget of the light commands."""

import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).parent.parent


def test_every_package_is_listed_in_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(conf["packages"]), conf["package-dir"]
    found = set()
    for init in ROOT.glob("**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts[0] in ("tests", "build", ".venv") or "egg-info" in str(rel):
            continue
        top = {v: k for k, v in dirs.items()}.get(rel.parts[0])
        if top is None:
            continue
        found.add(".".join([top] + list(rel.parts[1:])))
    assert found == listed


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_and_fmt_do_not_import_heavy_libraries(tmp_path):
    f = tmp_path / "p.clv"
    f.write_text("scene() |> filter[red] |> count")
    mods = _modules_after("import clevrlang")
    assert not {"torch", "ultralytics", "sklearn"} & mods
    mods = _modules_after(f"from clevrlang.cli import main; main(['fmt', '{f}'])")
    assert not {"torch", "ultralytics", "sklearn", "numpy"} & mods
