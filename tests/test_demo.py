"""`make demo` (python -m clevrlang.demo) on a tiny world, with the symbolic back end."""

import os


def test_demo_runs_and_names_its_report_once(tmp_path, capsys):
    from clevrlang.demo import run_demo

    assert run_demo(str(tmp_path), images=2, seed=0, backends="symbolic") == 0
    out = capsys.readouterr().out
    reports = [line for line in out.splitlines() if line.startswith("report:")]
    assert reports == [f"report: {os.path.join(tmp_path, 'report', 'README.md')}"]
    assert (tmp_path / "report" / "README.md").is_file()
    assert not (tmp_path / "world" / ".parts").exists()  # a finished world is tidy
