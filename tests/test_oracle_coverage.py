"""--oracle-coverage: the processes that run the oracle write coverage data, it is combined and read
into results.json's `oracle_coverage`, each `raise` of tf_keras' RNN code is mapped to its ERR ID,
unreached paths get their reason or are gaps, and the report shows the section."""
import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnconf.engine import oracle_coverage as oc
from rnnconf.reports import render
from rnnconf import cli

ROOT = Path(__file__).resolve().parent.parent
importlib_find_spec = importlib.util.find_spec
ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _raises_of(rel):
    root = oc.tf_keras_root()
    source = (Path(root) / rel).read_text()
    tree = ast.parse(source)
    return [(node.lineno, oc.match_error_path(oc._exception(node, tree), rel, oc.direct_error_paths()))
            for node in oc._raises(tree)]


def test_every_direct_error_path_belongs_to_a_raise_of_the_contract_files():
    found = {}
    for rel in oc.CONTRACT_FILES:
        for line, ids in _raises_of(rel):
            for cid in ids:
                found.setdefault(cid, []).append((rel, line))
    direct = [cid for cid, _, _ in oc.direct_error_paths()]
    assert direct[:24] == [f"ERR-{i:02d}" for i in range(1, 25)]
    assert sorted(found) == sorted(direct), f"direct error paths without their raise: {set(direct) - set(found)}"
    # Paths whose message is shared are told apart by the file, or belong to both.
    assert [r for r, _ in found["ERR-20"]] == ["layers/rnn/gru.py"]
    assert [r for r, _ in found["ERR-21"]] == ["layers/rnn/lstm.py"]
    assert found["ERR-04"] == found["ERR-05"] and len(found["ERR-04"]) == 2  # count, then shapes
    assert {r for r, _ in found["ERR-24"]} == {"layers/rnn/abstract_rnn_cell.py"}


@pytest.mark.parametrize("source, rel, expected", [
    ('raise ValueError(f"Layer has {n} states but was passed {m} initial states. Received: initial_state={s}")',
     "layers/rnn/base_rnn.py", ["ERR-09"]),
    # the same words, another class: not that path
    ('raise TypeError(f"Layer has {n} states but was passed {m} initial states. Received: initial_state={s}")',
     "layers/rnn/base_rnn.py", []),
    ('raise ValueError("Defun wrapper only applies to LSTM and GRU layer")', "layers/rnn/gru_lstm_utils.py", []),
    ('raise AttributeError("Layer must be stateful.")', "layers/rnn/base_rnn.py", ["ERR-12"]),
    ('e = ValueError("Unrolling requires a fixed number of timesteps.")\nraise e', "backend.py", ["ERR-23"]),
    ('raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, got {u}.")',
     "layers/rnn/gru.py", ["ERR-20"]),
])
def test_a_raise_belongs_to_the_error_path_of_its_class_and_message(source, rel, expected):
    tree = ast.parse(source)
    node = oc._raises(tree)[0]
    assert oc.match_error_path(oc._exception(node, tree), rel, oc.direct_error_paths()) == expected


def test_an_unreached_line_takes_the_reason_of_the_block_it_is_in(monkeypatch):
    source = "def f(x):\n    if x.gpu_available:\n        y = 1\n        return y\n    return 2\n"
    scopes = oc._Scopes(ast.parse(source), source.splitlines())
    monkeypatch.setattr(oc, "UNREACHABLE", [("layers/rnn/x.py", "f", "gpu_available", "gpu", "cuDNN")])
    assert oc._explain("layers/rnn/x.py", 4, scopes) == {"category": "gpu", "reason": "cuDNN"}
    assert oc._explain("layers/rnn/x.py", 5, scopes)["category"] == "gap"
    assert oc._explain("layers/rnn/y.py", 4, scopes)["category"] == "gap"


def test_the_innermost_statement_decides_the_reason(monkeypatch):
    source = ("def f(x):\n    if x.new_switch():\n        return 0\n    else:\n        if x.can_use_gpu:\n"
              "            return 1\n        return 2\n")
    scopes = oc._Scopes(ast.parse(source), source.splitlines())
    monkeypatch.setattr(oc, "UNREACHABLE", [("*", "f", "new_switch()", "switched-off", "off"),
                                            ("*", "f", "can_use_gpu", "gpu", "cuDNN")])
    assert oc._explain("a.py", 3, scopes)["category"] == "switched-off"
    assert oc._explain("a.py", 6, scopes)["category"] == "gpu"


def test_every_reason_names_a_category():
    assert all(row[3] in oc.CATEGORIES for row in oc.UNREACHABLE)


@pytest.mark.oracle
def test_the_suite_processes_measure_the_oracle_and_a_reached_raise_says_so(tmp_path):
    data = tmp_path / "cov"
    env = dict(os.environ, **ENV, **{oc.ENV_DIR: str(data), oc.ENV_TARGET: "tf_keras"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "conformance/test_errors.py",
                           "-k", "test_error_case and ERR-12", "--impl", "tf_keras", "-p", "rnnconf.engine.oracle_coverage"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    summary = oc.summarize(str(data))
    base = next(f for f in summary["files"] if f["file"] == "layers/rnn/base_rnn.py")
    by_err = {tuple(r["err"]): r for r in base["raises"]}
    assert by_err[("ERR-12",)]["reached"] is True
    assert by_err[("ERR-13",)]["reached"] is False and by_err[("ERR-13",)]["category"] in ("gap", *oc.CATEGORIES)
    assert base["lines_covered"] > 50 and base["lines_total"] > base["lines_covered"]
    # measuring began before tf_keras was imported: its module-level statements count as run
    first_import = next(n.lineno for n in ast.parse((Path(oc.tf_keras_root()) / base["file"]).read_text()).body
                        if isinstance(n, (ast.Import, ast.ImportFrom)))
    assert not any(a <= first_import <= b for a, b in (r["lines"] for r in base["missing_ranges"]))
    assert summary["processes"] >= 1


@pytest.mark.oracle
def test_a_check_with_oracle_coverage_writes_it_to_results_and_the_report(tmp_path):
    status = cli.main(["check", "--impl", "reference", "--out", str(tmp_path), "--no-progress", "--seed", "1",
                       "--skip-suite", "--max-examples", "6", "--workers", "1", "--oracle-coverage"])
    assert status == cli.OK
    data = json.loads((tmp_path / "results.json").read_text())
    cov = data["oracle_coverage"]
    assert [f["file"] for f in cov["files"]] == oc.CONTRACT_FILES
    assert [f["file"] for f in cov["outside_files"]] == oc.OUTSIDE_FILES
    backend = cov["files"][-1]
    assert backend["function"] == "rnn" and 0 < backend["lines_covered"] <= backend["lines_total"] < 300
    assert cov["contract"]["lines_covered"] == sum(f["lines_covered"] for f in cov["files"])
    assert cov["processes"] >= 1  # the oracle's worker (and its probe); the implementation's is not measured
    for f in cov["files"]:
        unreached = f["missing_ranges"] + f["missing_branches"] + [r for r in f["raises"] if not r["reached"]]
        assert f["gaps"] + f["explained"] == len(unreached)
    ranges = [r for f in cov["files"] for r in f["missing_ranges"]]
    assert ranges and all(r["lines"][0] <= r["lines"][1] and r["category"] for r in ranges)
    html = (tmp_path / "report.html").read_text()
    assert 'id="oracle-coverage"' in html and "base_rnn.py" in html and "ERR-12" in html
    assert oc.ENV_DIR not in os.environ  # the check leaves the environment as it found it


def _results_with_coverage():
    raise_reached = {"line": 864, "function": "RNN.reset_states", "class": "AttributeError", "source": "raise",
                     "reached": True, "err": ["ERR-12"]}
    raise_gpu = {"line": 70, "function": "gpu_path", "class": "ValueError", "source": "raise", "reached": False,
                 "err": [], "category": "gpu", "reason": "cuDNN kernels run on a GPU only"}
    f = {"file": "layers/rnn/base_rnn.py", "function": None, "ran": True, "lines_covered": 9, "lines_total": 10,
         "branches_covered": 1, "branches_total": 2, "raises_reached": 1, "raises_total": 2, "percent": 83.3,
         "missing_ranges": [{"lines": [40, 42], "function": "RNN.call", "category": "gap", "reason": None}],
         "missing_branches": [{"from": 50, "to": -1, "function": "RNN.call", "category": "gpu",
                               "reason": "cuDNN kernels run on a GPU only"}],
         "raises": [raise_reached, raise_gpu]}
    totals = {k: f[k] for k in ("lines_covered", "lines_total", "branches_covered", "branches_total",
                                "raises_reached", "raises_total", "percent")}
    return {"implementation": "x", "oracle": "tf_keras", "clauses": {}, "discrepancies": [],
            "oracle_coverage": {"files": [f], "outside_files": [dict(f, file="layers/rnn/bidirectional.py")],
                                "contract": totals, "outside": totals, "processes": 3, "categories": oc.CATEGORIES}}


def test_the_report_shows_the_oracle_coverage_section(tmp_path):
    render.render_report(_results_with_coverage(), str(tmp_path))
    html = (tmp_path / "report.html").read_text()
    section = html[html.index('<section id="oracle-coverage">'):]
    section = section[:section.index("</section>")]
    assert "layers/rnn/base_rnn.py" in section and "9/10" in section and "1/2" in section
    assert "lines 40-42" in section and "gap" in section
    assert "branch 50 &rarr; exit" in section and "cuDNN kernels run on a GPU only" in section
    assert 'href="#clause-ERR-12"' in section and "bidirectional.py" in section
    assert "(3 processes)" in section and 'href="#oracle-coverage"' in html


def test_a_report_without_oracle_coverage_has_no_section(tmp_path):
    data = _results_with_coverage()
    del data["oracle_coverage"]
    render.render_report(data, str(tmp_path))
    assert 'id="oracle-coverage"' not in (tmp_path / "report.html").read_text()


def test_a_check_without_coverage_py_says_so_and_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(oc.importlib.util, "find_spec",
                        lambda name, *a: None if name == "coverage" else importlib_find_spec(name, *a))
    status = cli.main(["check", "--impl", "reference", "--out", str(tmp_path), "--no-progress",
                       "--skip-suite", "--max-examples", "1", "--oracle-coverage"])
    assert status == cli.USAGE
    assert "needs coverage.py" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()
