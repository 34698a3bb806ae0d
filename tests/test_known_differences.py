"""Known differences (engine/known_differences.py): the shipped files parse, an entry accounts for
the failure it describes and not for a nearby real bug, `--known` changes `check`'s verdict and exit
status, and a bad file is refused with its line and what is wrong."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from rnnconf.engine import judge, known_differences
from rnnconf.adapters import namespaces
from rnnconf import cli
from rnnconf.adapters import targets

TESTS = Path(__file__).parent
KERAS3 = os.path.join(known_differences.HERE, "keras3.txt")
HARD_SIGMOID_GRU = {"cells": [{"kind": "gru", "units": 3, "recurrent_activation": "hard_sigmoid"}],
                    "flags": {"return_sequences": True}, "seed": 3}
STACK_STATES = {"cells": [{"kind": "simple", "units": 2}, {"kind": "lstm", "units": 3}],
                "flags": {"return_state": True}, "seed": 1}


@pytest.fixture
def _importable_targets(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def _judged(target, case, known):
    impl, oracle = namespaces.resolve(f"fuzz_targets.{target}"), namespaces.resolve("reference")
    return judge.run_and_judge(impl, oracle, case, known=known)[2]


# ---- the shipped files ---------------------------------------------------------------------------
def test_every_keras3_target_ships_a_file_that_parses():
    """Each Keras 3 target (and keras3 itself) has a file; every entry has a link, a known field and a
    fingerprint pattern that names a real kind; files differ only in their header."""
    names = ["keras3"] + [name for name, spec in targets.TARGETS.items() if spec.impl == "keras3"]
    assert set(names) >= {"keras3", "keras3-jax", "keras3-numpy", "keras3-torch", "keras-nightly"}
    bodies = set()
    for name in names:
        path = known_differences.target_file(name)
        assert path, f"no known-differences file for {name}"
        entries = known_differences.read(path)
        assert {e["field"] for e in entries} == {"fingerprint", "unsupported"}
        assert all(e["url"].startswith("https://github.com/keras-team/keras/") and e["note"] and e["description"]
                   for e in entries), entries
        bodies.add(tuple((e["field"], e["entry"], e["url"]) for e in entries))
    assert len(bodies) == 1
    assert known_differences.target_file("tf_keras") is None


@pytest.mark.parametrize("line, wrong", [
    ("FLAG-06  https://x.org/1  time_major", "does not say how to recognise"),
    ("fingerprint: value | output *  -- no link", "no link"),
    ("fingerprint: values | output * | x  https://x.org/1", "kind 'values' matches none"),
    ("fingerprint: value | * | a | maybe b  https://x.org/1", "'maybe b' is no check"),
    ("fingerprint: value | * | a | without  https://x.org/1", "`without` needs a feature pattern"),
    ("fingerprint: value  https://x.org/1", "KIND | CORE"),
])
def test_a_bad_file_names_its_line_and_what_is_wrong(tmp_path, line, wrong, capsys):
    path = tmp_path / "known.txt"
    path.write_text(f"# a header\n\n{line}\n")
    with pytest.raises(known_differences.KnownDifferencesError) as e:
        known_differences.read(str(path))
    assert str(e.value).startswith(f"{path}:3: ") and wrong in str(e.value)
    # `check` refuses it before running anything: exit 2, the same words.
    assert cli.main(["check", "--impl", "reference", "--known", str(path), "--out", str(tmp_path / "o")]) == cli.USAGE
    assert f"{path}:3: " in capsys.readouterr().err


# ---- recognising: the difference, and not a nearby real bug ------------------------------------------
def test_hard_sigmoid_redefined_differs_by_design_only_with_the_file(_importable_targets):
    """Keras 3's hard_sigmoid on a target: a failure without the file, differs-by-design with it,
    carrying the entry's link; a sigmoid case of the same target still passes."""
    known = known_differences.read(KERAS3)
    assert _judged("hard_sigmoid_redefined", HARD_SIGMOID_GRU, None)["status"] == "fail"
    j = _judged("hard_sigmoid_redefined", HARD_SIGMOID_GRU, known)
    assert j["status"] == known_differences.STATUS and j["kind"] == "value"
    assert j["difference"]["url"] == "https://github.com/keras-team/keras/pull/19477"


def test_hard_sigmoid_with_recurrent_dropout_is_the_hard_sigmoid_difference(_importable_targets):
    """A hard_sigmoid GRU with recurrent dropout fails as a distribution: it is the hard_sigmoid
    difference (it passes with sigmoid), not a dropout bug."""
    case = dict(HARD_SIGMOID_GRU, cells=[dict(HARD_SIGMOID_GRU["cells"][0], recurrent_dropout=0.5)], training=True)
    known = known_differences.read(KERAS3)
    j = _judged("hard_sigmoid_redefined", case, known)
    assert j["status"] == known_differences.STATUS, j["detail"]
    assert j["difference"]["url"].endswith("/pull/19477")


@pytest.mark.parametrize("target", ["hard_sigmoid_and_unscaled_dropout", "dropout_no_scaling"])
def test_a_real_dropout_bug_is_not_hidden_by_the_hard_sigmoid_entry(_importable_targets, target):
    """The same case on a target that also (or only) leaves dropout unscaled stays a failure: without
    hard_sigmoid it still fails, so the entry does not account for it."""
    case = dict(HARD_SIGMOID_GRU, cells=[dict(HARD_SIGMOID_GRU["cells"][0], dropout=0.5)], training=True)
    j = _judged(target, case, known_differences.read(KERAS3))
    assert j["status"] == "fail" and "difference" not in j, j["detail"]


def test_stack_states_nested_per_cell_differs_by_design(_importable_targets):
    """The nesting of a stack's states (stack_states_nested) is the Keras 3 difference; the oracle's
    arrays are all there, in order."""
    known = known_differences.read(KERAS3)
    assert _judged("stack_states_nested", STACK_STATES, None)["kind"] == "structure"
    j = _judged("stack_states_nested", STACK_STATES, known)
    assert j["status"] == known_differences.STATUS and "stacked_rnn_cells.py" in j["difference"]["url"]


def test_same_leaves_tells_nesting_from_a_lost_or_changed_state():
    """`same leaves` holds for the same arrays nested per cell, not for a state dropped or changed."""
    from rnnconf.engine.cases import normalize
    case = normalize(STACK_STATES)
    out, h1, h2, c2 = (np.full((2, n), v, "float32") for n, v in ((3, .1), (2, .2), (3, .3), (3, .4)))
    oracle = {"steps": [{"result": [out, h1, [h2, c2]]}]}
    assert known_differences.same_leaves(oracle, {"steps": [{"result": [out, [h1], [h2, c2]]}]}, case)
    assert not known_differences.same_leaves(oracle, {"steps": [{"result": [out, [h2, c2]]}]}, case)
    assert not known_differences.same_leaves(oracle, {"steps": [{"result": [out, [h1 + 1], [h2, c2]]}]}, case)


TFJS = os.path.join(known_differences.HERE, "tfjs.txt")


def _in_reverse_cell_order(oracle, case):
    """What an implementation with tfjs' convention returns for `case`: the oracle's results for the
    states given last cell first, each result's states reversed per cell and flat."""
    from rnnconf.engine import execute
    from rnnconf.engine.cases import normalize
    reordered = known_differences.states_reversed(execute.run(oracle, dict(case, reverse_cell_order=True)),
                                                  normalize(case))

    def flat(x):
        return [leaf for item in x for leaf in flat(item)] if isinstance(x, list) else [x]
    return dict(reordered, steps=[dict(s, result=[s["result"][0], *flat(s["result"][1:])])
                                  if isinstance(s.get("result"), list) else s for s in reordered["steps"]])


def test_states_in_reverse_cell_order_are_recognised_by_rerunning_the_oracle_reversed():
    """tfjs' convention, checked exactly: the outputs of a stack given states of one width, its returned
    states flat and reversed. A value changed beside it still fails."""
    from rnnconf.engine import execute
    oracle = namespaces.resolve("reference")
    known = known_differences.read(TFJS)
    case = {"cells": [{"kind": "simple", "units": 2}, {"kind": "gru", "units": 2}], "initial_state": True,
            "flags": {"return_state": True}, "seed": 4}
    expected, actual = execute.run(oracle, case), _in_reverse_cell_order(oracle, case)
    # the states given last cell first land on the other cell: another output
    assert not np.allclose(actual["steps"][0]["result"][0], expected["steps"][0]["result"][0])
    run_oracle = judge.oracle_runner(oracle)
    assert judge.judge(case, expected, actual, run_oracle=run_oracle)["status"] == "fail"
    assert judge.judge(case, expected, actual, run_oracle=run_oracle, known=known)["status"] == known_differences.STATUS
    step = actual["steps"][0]
    wrong = dict(actual, steps=[dict(step, result=[step["result"][0] + 0.25, *step["result"][1:]])])
    assert judge.judge(case, expected, wrong, run_oracle=run_oracle, known=known)["status"] == "fail"


def test_a_dropout_bug_on_a_stack_is_not_the_reverse_cell_order():
    """Under dropout the results are compared by distribution: the reverse-cell-order check must judge
    the reordered samples so, not only their shapes, or any distribution bug of a stack would pass."""
    from rnnconf.engine import dropout
    from rnnconf.engine.cases import normalize
    oracle = namespaces.resolve("reference")
    known = known_differences.read(TFJS)
    case = {"cells": [{"kind": "simple", "units": 2, "dropout": 0.5}, {"kind": "simple", "units": 2}],
            "training": True, "seed": 3}
    expected = dropout.sample(oracle, case, dropout.SAMPLES, per_call=dropout.SAMPLES, seed=1)
    shifted = dict(expected, steps=[dict(s, result=s["result"] + 0.5) for s in expected["steps"]])
    run_oracle = judge.oracle_runner(oracle)
    assert judge.judge(case, expected, shifted, run_oracle=run_oracle)["status"] == "fail"
    assert judge.judge(case, expected, shifted, run_oracle=run_oracle, known=known)["status"] == "fail"
    # The convention itself under dropout: states given and returned last cell first, flat.
    given = dict(case, cells=[case["cells"][0], {"kind": "lstm", "units": 2}], initial_state=True,
                 flags={"return_state": True})
    expected = dropout.sample(oracle, given, dropout.SAMPLES, per_call=dropout.SAMPLES, seed=1)
    reordered = known_differences.states_reversed(
        dropout.sample(oracle, dict(given, reverse_cell_order=True), dropout.SAMPLES, per_call=dropout.SAMPLES,
                       seed=2), normalize(given))
    out, *states = reordered["steps"][0]["result"]
    flat = dict(reordered, steps=[dict(reordered["steps"][0], result=[out, *[leaf for st in states for leaf in
                                                                             (st if isinstance(st, list) else [st])]])])
    assert judge.judge(given, expected, flat, run_oracle=run_oracle)["status"] == "fail"
    assert judge.judge(given, expected, flat, run_oracle=run_oracle, known=known)["status"] == known_differences.STATUS


def test_a_deviation_after_a_known_difference_is_the_deviation():
    """A built stack given initial_state=[] (DEV-empty-initial-state from step 1) by an implementation
    that refuses it, after a first call whose states differ only by the reverse cell order: the
    oracle's deviation, naming the known difference before it. Another difference at step 0 fails."""
    from rnnconf.engine import execute
    oracle = namespaces.resolve("reference")
    known = known_differences.read(TFJS)
    case = {"cells": [{"kind": "simple", "units": 3}, {"kind": "lstm", "units": 2}], "flags": {"return_state": True},
            "initial_state_form": "empty", "steps": [{"op": "call"}, {"op": "call", "initial_state": True}], "seed": 5}
    expected = execute.run(oracle, case)
    refused = {"op": "call", "error": {"type": "ValueError", "mro": ["ValueError", "Exception"], "stage": "step 1",
                                       "message": "RNN Layer has 3 state(s) but was passed 0 initial state(s)."}}
    first = _in_reverse_cell_order(oracle, dict(case, steps=case["steps"][:1]))["steps"][0]
    run_oracle = judge.oracle_runner(oracle)
    j = judge.judge(case, expected, {"steps": [first, refused], "error": None}, run_oracle=run_oracle, known=known)
    assert j["status"] == "oracle-deviation" and j["deviation"] == "DEV-empty-initial-state", j["detail"]
    assert "before step 1, a known difference" in j["detail"]
    shifted = dict(first, result=[first["result"][0] + 0.25, *first["result"][1:]])
    j = judge.judge(case, expected, {"steps": [shifted, refused], "error": None}, run_oracle=run_oracle, known=known)
    assert j["status"] == "fail", j["detail"]


def test_an_entry_needs_its_check_to_hold():
    """Matching the fingerprint is not enough where the entry has `without`: the rerun must pass."""
    entry = known_differences.read(KERAS3)[0]
    fp = {"kind": "value", "core": "output of the first call",
          "features": ["cell:gru", "gru.recurrent_activation=hard_sigmoid"]}
    case = HARD_SIGMOID_GRU
    ran = []
    assert known_differences.recognise([entry], case, fp, lambda c: ran.append(c) or True) is entry
    assert "recurrent_activation" not in ran[0]["cells"][0]  # the rerun is the case without hard_sigmoid
    assert known_differences.recognise([entry], case, fp, lambda c: False) is None
    assert known_differences.recognise([entry], case, dict(fp, kind="error"), lambda c: True) is None
    assert known_differences.recognise([entry], case, dict(fp, features=["cell:gru"]), lambda c: True) is None


# ---- `rnnconf check --known` -----------------------------------------------------------------------------
def _check(out, *extra):
    return cli.main(["check", "--impl", "fuzz_targets.stack_states_nested", "--oracle", "reference", "--out", str(out),
                     "--skip-suite", "--workers", "1", "--no-progress", "--seed", "1", "--max-examples", "300",
                     "--variants", "1", "--fail-fast", *extra])


def test_known_changes_the_exit_status_and_is_reported(tmp_path, _importable_targets):
    """Without a file the planted nesting is a discrepancy (exit 1); with the user's file it is
    differs-by-design: exit 0, counted per clause in results.json, listed with its link in the
    report, and no JUnit failure."""
    assert _check(tmp_path / "without") == cli.FOUND
    mine = tmp_path / "mine.txt"
    mine.write_text("# my layer nests a stack's states per cell, as Keras 3 does\n"
                    "fingerprint: structure | nesting of the results of * | stack, flag:return_state | same leaves"
                    "  https://example.org/my-docs#states  states nested per cell\n")
    out = tmp_path / "with"
    assert _check(out, "--known", str(mine)) == cli.OK
    data = json.loads((out / "results.json").read_text())
    assert data["discrepancies"] == []
    assert data["clauses"]["CELL-10"]["status"] == known_differences.STATUS
    assert data["clauses"]["CELL-10"]["differs-by-design"] >= 1 and data["clauses"]["CELL-10"]["failures"] == 0
    [row] = data["known_differences"]
    assert row["status"] == "matched" and row["examples"] >= 1 and row["url"] == "https://example.org/my-docs#states"
    html = (out / "report.html").read_text()
    assert 'id="known-differences"' in html and 'href="https://example.org/my-docs#states"' in html
    assert 'class="status s-differs-by-design"' in html
    junit = (out / "junit.xml").read_text()
    assert "<failure" not in junit and "differs from Keras 2 by design" in junit


def test_the_suite_counts_a_known_difference_per_clause_not_as_a_failure(tmp_path):
    """`pytest conformance --known FILE`: the planted nesting's test ends as differs-by-design,
    counted per clause and listed with its entry in the clause report; without the file it fails."""
    import subprocess
    import sys

    def suite(*extra):
        report = tmp_path / f"report{len(extra)}.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS.parent)]))
        proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider",
                               "-p", "no:xdist", "--impl", "fuzz_targets.stack_states_nested", "--oracle", "reference",
                               "-k", "test_stacked_states_nest_per_cell", "--clause-report", str(report), *extra],
                              cwd=TESTS.parent, env=env, capture_output=True, text=True)
        return proc.returncode, json.loads(report.read_text())
    status, report = suite()
    assert status == 1 and report["clauses"]["CELL-10"]["failures"] == 1
    status, report = suite("--known", KERAS3)
    assert status == 0, report
    assert report["clauses"]["CELL-10"]["failures"] == 0 and report["clauses"]["CELL-10"]["differs-by-design"] == 1
    [row] = report["by_design_tests"]
    assert row["test"].endswith("test_stacked_states_nest_per_cell")
    assert "stacked_rnn_cells.py" in row["differences"][0]["url"]


def test_a_fuzzed_example_differs_by_design_only_for_the_clauses_its_difference_brings():
    """A case with a high-dimensional state cell and a mask counts for CELL-05/CELL-06 (what the
    cell brings), not for the mask's or the ubiquitous clauses it also reaches."""
    from rnnconf.engine.cases import normalize
    from rnnconf.engine.exercised import exercised
    entry = next(e for e in known_differences.read(KERAS3) if e.get("without") == "cell:custom-hd_state")
    case = normalize({"cells": [{"kind": "custom", "variant": "hd_state", "units": 4}], "mask": [[1, 1, 0]],
                      "batch": 1, "timesteps": 3, "flags": {"return_sequences": True}})
    assert {"MASK-01", "CALL-01"} <= set(exercised(case))
    assert known_differences.clauses_of(entry, case, exercised(case)) == ["CELL-05", "CELL-06"]
