"""One entry per root cause (docs/root-causes.md): a failure that carries a known discrepancy's
features but still fails without them is a bug of its own; discrepancies that are one bug shown
elsewhere are one root cause; suite failures no fuzzer root cause accounts for are root causes of
their own. And the short snippet that leads each bug report (reports/snippet.py)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnconf.engine import judge
from rnnconf.adapters import namespaces
from rnnconf.engine.root_causes import root_causes, suite_case
from rnnconf.fuzz import campaign, differential, driver, logs
from rnnconf.reports import repro, snippet

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture(autouse=True)
def _importable_targets(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def case(dtype="float32", cell="simple", **flags):
    return {"cells": [{"kind": cell, "units": 2}], "dtype": dtype, "flags": flags, "batch": 2, "timesteps": 3,
            "features": [2], "seed": 1}


@pytest.fixture
def running(tmp_path):
    """A Driver on `impl` against the NumPy reference, its workers started."""
    loops = []

    def start(impl):
        (spec,) = campaign.driver_specs(impl=impl, oracle="reference", out=str(tmp_path), seed=1, shard=(1, 1),
                                        workers=1, max_examples=None, deadline=time.time() + 600,
                                        fail_fast=False, xfail=(), timeout_s=60)
        loop = driver.Driver(spec)
        loop.oracle.start()
        loop.impl.start()
        loops.append(loop)
        return loop
    yield start
    for loop in loops:
        loop.oracle.stop()
        loop.impl.stop()
        loop._log.close()


def known_from(loop, c):
    """Record the failure of case `c` as a known discrepancy of `loop`, with its essential features."""
    v = differential.check(c, loop.oracle, loop.impl, fresh=True)
    fp = loop._essential(v)
    loop.write({"type": "discrepancy", "signature": judge.signature(fp), "fingerprint": fp, "config": c})
    loop.known = loop.known_reader.refresh()
    return loop.known[-1]


def test_a_failure_with_a_known_ones_features_that_still_fails_without_them_is_its_own(running):
    loop = running("fuzz_targets.float64_rounded_and_backwards")
    rounded = known_from(loop, case("float64", return_state=True))
    assert rounded["fingerprint"]["features"] == ["dtype:float64"]
    both = differential.check(case("float64", go_backwards=True, return_sequences=True), loop.oracle, loop.impl)
    # Same kind, core and features as the known one: by those alone it would read as an occurrence of it.
    assert judge.explains(rounded["fingerprint"], both["fingerprint"])
    feature, alternative, hidden = loop._hidden(both, rounded)
    assert feature == "dtype:float64" and "flag:go_backwards" in hidden["fingerprint"]["features"]
    assert hidden["case"]["dtype"] == "float32"
    assert loop._explained(both) is None
    # While shrinking it, every case is run without float64, so the shrink stays on the second bug.
    loop.strip = (feature, alternative)
    assert loop._stripped(case("float64", go_backwards=True))["dtype"] == "float32"
    # A case with only the known bug is its occurrence, and that is remembered without running again.
    alone = differential.check(case("float64", return_sequences=True), loop.oracle, loop.impl)
    assert loop._hidden(alone, rounded) is None and loop._explained(alone) is rounded
    loop.oracle.stop()  # no worker: a second look must not run anything
    assert loop._explained(alone) is rounded


def test_a_suspect_is_settled_after_the_variants_a_hidden_bug_becomes_the_target(running):
    loop = running("fuzz_targets.several_bugs")
    gru = known_from(loop, case(cell="gru"))
    assert gru["fingerprint"]["features"] == ["cell:gru"]
    with pytest.raises(driver.Discrepancy) as raised:
        loop.examine(case(cell="gru", go_backwards=True, return_sequences=True))
    target = raised.value.verdict
    assert loop.target == target["fingerprint"] and "cell:gru" not in target["fingerprint"]["features"]
    assert "flag:go_backwards" in target["fingerprint"]["features"] and loop.strip[0] == "cell:gru"
    loop._log.flush()
    assert [r for r in logs.read_log(loop.log_path) if r["type"] == "hidden"][0]["without"] == "cell:gru"


def test_one_bug_shown_on_another_result_is_the_same_cause_and_a_second_bug_is_not(running):
    loop = running("fuzz_targets.float64_rounded_and_backwards")
    rounded = known_from(loop, case("float64", return_state=True))
    on_state = {"kind": "value", "core": "state of the first call",
                "features": ["dtype:float64", "flag:return_state", "mask"]}
    assert loop._same_cause(on_state, case("float64", return_state=True)) == {rounded["signature"]: ["dtype:float64"]}
    # Shares float64 with the known one, but its case still fails in float32: another bug.
    backwards = {"kind": "value", "core": "output of a later call",
                 "features": ["dtype:float64", "flag:go_backwards", "flag:return_sequences"]}
    assert loop._same_cause(backwards, case("float64", go_backwards=True, return_sequences=True)) == {}


def test_candidates_for_one_cause_share_more_than_a_cell_kind():
    first = {"kind": "value", "core": "output of the first call", "features": ["dtype:float64"]}
    state = {"kind": "value", "core": "state of the first call", "features": ["dtype:float64", "flag:return_state"]}
    other_cell = {"kind": "value", "core": "output of the first call", "features": ["cell:gru", "dtype:float64"]}
    lstm = {"kind": "value", "core": "output of the first call", "features": ["cell:lstm", "dtype:float64"]}
    assert judge.shared_cause(first, state) == ["dtype:float64"]
    assert judge.shared_cause(other_cell, lstm) == ["dtype:float64"]  # the same cause through another cell
    gru_bias = {"kind": "value", "core": "output of the first call", "features": ["cell:gru"]}
    gru_later = {"kind": "value", "core": "output of a later call", "features": ["calls:several", "cell:gru"]}
    assert judge.shared_cause(gru_bias, gru_later) is None  # a cell kind alone: two GRU bugs stay apart
    backwards = {"kind": "value", "core": "output of the first call", "features": ["flag:go_backwards"]}
    assert judge.shared_cause(first, backwards) is None  # nothing shared
    both_extra = {"kind": "value", "core": "state of the first call", "features": ["dtype:float64", "mask"]}
    more = {"kind": "value", "core": "output of a later call", "features": ["calls:several", "dtype:float64"]}
    assert judge.shared_cause(both_extra, more) is None  # each needs more of its own
    error = {"kind": "error", "core": "ERR-14 raised with other facts", "features": ["dtype:float64"]}
    assert judge.shared_cause(dict(error, core="another"), error) is None  # an error's core says what raised
    assert judge.without_feature(case(**{"return_state": True}) | {"cells": [{"kind": "gru"}, {"kind": "lstm"}]},
                                 "stack")[0]["cells"] == [{"kind": "gru"}]


MASK = [[1, 1, 0], [1, 0, 0]]


def test_an_error_is_grouped_where_it_is_one_raise_or_a_known_failure_reached_through_more_features():
    rounded = {"kind": "value", "core": "output of the first call", "features": ["dtype:float64", "stack"]}
    select = {"kind": "error", "core": "the implementation raises InvalidArgumentError (cannot compute SelectV_), "
                                       "the oracle nothing", "features": ["dtype:float64", "mask", "stack"]}
    assert judge.shared_cause(rounded, select) == ["dtype:float64", "stack"]
    assert judge.cause_beneath(select, rounded) == (rounded, select)
    # An error needing less than the value failure cannot be it: its case would raise.
    assert judge.shared_cause(dict(select, features=["dtype:float64"]), rounded) is None
    # Two errors: one raise (one core) through other flags shares features; two raises need one beneath the other.
    stateful = {"kind": "error", "core": "the implementation raises TypeError (int_ argument)",
                "features": ["cell:custom-hd_state", "flag:stateful", "stack"]}
    returned = dict(stateful, features=["cell:custom-hd_state", "flag:return_state", "stack"])
    assert judge.shared_cause(stateful, returned) == ["cell:custom-hd_state", "stack"]
    assert judge.shared_cause(stateful, dict(returned, core="the implementation raises TypeError (other)")) is None
    assert judge.shared_cause(dict(stateful, features=["cell:gru"]), dict(returned, features=["cell:gru"])) is None


def test_an_error_that_is_a_known_value_bug_through_a_mask_is_its_root_cause_and_two_raises_are_two(running):
    loop = running("fuzz_targets.float64_refused_under_mask")
    rounded = known_from(loop, case("float64", return_state=True))
    assert rounded["fingerprint"]["features"] == ["dtype:float64"]
    masked = differential.check(dict(case("float64"), mask=MASK), loop.oracle, loop.impl, fresh=True)
    fp = loop._essential(masked)
    assert fp["kind"] == "error" and fp["features"] == ["dtype:float64", "mask"]
    assert loop._same_cause(fp, masked["case"]) == {rounded["signature"]: ["dtype:float64"]}

    # Where the error's case also carries a second bug (a masked stack refused in float32), it still
    # fails without float64: which bug raised cannot be told, and it joins neither.
    loop = running("fuzz_targets.float64_refused_under_mask_and_masked_stacks")
    rounded = known_from(loop, case("float64", return_state=True))
    masked_stack = dict(case("float64"), mask=MASK, cell_list=True)
    v = differential.check(masked_stack, loop.oracle, loop.impl, fresh=True)
    fp = loop._essential(v)
    assert fp["core"] == masked["fingerprint"]["core"] and "stack" not in fp["features"]
    assert loop._same_cause(fp, masked_stack) == {}
    assert loop._same_cause(fp, masked["case"]) == {rounded["signature"]: ["dtype:float64"]}

    loop = running("fuzz_targets.two_raises")
    first = known_from(loop, dict(case(go_backwards=True), mask=MASK))
    second = differential.check(case(go_backwards=True, return_state=True), loop.oracle, loop.impl, fresh=True)
    fp = loop._essential(second)
    assert first["fingerprint"]["features"] == ["flag:go_backwards", "mask"]
    assert fp["features"] == ["flag:go_backwards", "flag:return_state"]
    assert first["fingerprint"]["core"] != fp["core"]
    assert loop._same_cause(fp, second["case"]) == {}
    items = [dict(discrepancy(1, first["fingerprint"]["features"], kind="error", core=first["fingerprint"]["core"])),
             dict(discrepancy(2, fp["features"], kind="error", core=fp["core"]))]
    assert len(root_causes({"discrepancies": items})) == 2


def discrepancy(n, features, core="output of the first call", kind="value", same=()):
    fp = {"kind": kind, "core": core, "features": features}
    return {"id": f"d-{n:04d}", "kind": kind, "clauses": ["CALL-01"], "repro": f"repro/d-{n:04d}.py",
            "signature": judge.signature(fp), "fingerprint": fp, "same_cause_as": list(same)}


def suite_test(name, c, kind="value", clauses=("FLAG-03",)):
    return {"test": name, "clauses": list(clauses),
            "message": f"x differs from y:\n  {kind} at step 0 output: max abs diff 1\n\nReproduce with:\n"
                       f"from rnnconf.engine import judge; from rnnconf.adapters import namespaces\ncase = {c!r}\nimpl, oracle = 1, 2\n"}


def test_root_causes_group_the_same_cause_and_keep_suite_failures_no_discrepancy_explains():
    first = discrepancy(1, ["dtype:float64"])
    gru = discrepancy(2, ["cell:gru"])
    state = discrepancy(3, ["dtype:float64", "flag:return_state", "mask"], core="state of the first call",
                        same=[first["signature"]])
    later = discrepancy(4, ["calls:several", "dtype:float64"], core="output of a later call",
                        same=[state["signature"]])
    data = {"discrepancies": [first, gru, state, later], "suite": {"failed_tests": [
        suite_test("t_gru", case(cell="gru", go_backwards=True)),   # has the GRU bug's features: that one
        suite_test("t_back1", case(go_backwards=True, return_sequences=True)),
        suite_test("t_back2", case(cell="lstm", go_backwards=True)),
        suite_test("t_reset", case(), kind="error", clauses=("STATE-04", "CALL-01")),
    ]}}
    causes = root_causes(data)
    fuzz = [c for c in causes if c["source"] == "fuzz"]
    assert [(c["discrepancy"], c["discrepancies"]) for c in fuzz] == [
        ("d-0001", ["d-0001", "d-0003", "d-0004"]), ("d-0002", ["d-0002"])]
    assert [v["id"] for v in fuzz[0]["variants"]] == ["d-0003", "d-0004"] and fuzz[0]["features"] == ["dtype:float64"]
    suite = [c for c in causes if c["source"] == "suite"]
    assert [(c["kind"], c["clauses"], c["tests"]) for c in suite] == [
        ("value", ["FLAG-03"], ["t_back1", "t_back2"]), ("error", ["STATE-04"], ["t_reset"])]
    assert suite[0]["config"] == case(go_backwards=True, return_sequences=True)
    assert [c["id"] for c in causes] == ["r-0001", "r-0002", "r-0003", "r-0004"]
    assert suite[0]["repro"] == "repro/r-0003.py"
    assert suite_case("no replay here") is None


def test_suite_failures_without_a_replayable_case_or_with_an_error_path_join_the_discrepancy_behind_them():
    backwards = dict(discrepancy(1, ["flag:go_backwards", "flag:return_sequences"]),
                     config=case(go_backwards=True, return_sequences=True))
    gru = dict(discrepancy(2, ["cell:gru"]), config=case(cell="gru"))
    reset = dict(discrepancy(3, ["calls:several", "flag:stateful", "reset:wrong_count"], kind="error",
                             core="ERR-14 raised with other facts"),
                 config=dict(case(stateful=True), steps=[{"op": "call"}, {"op": "call"},
                                                          {"op": "reset", "states": "wrong_count"}]))
    one_call = dict(case(stateful=True), steps=[{"op": "call"}, {"op": "reset", "states": "wrong_count"}])
    metamorphic = {"test": "test_go_backwards_equals_reversed_input", "clauses": ["FLAG-03"],
                   "message": "assert_close(got, want)\nE AssertionError: max abs diff 0.9 over tolerance"}
    cell_only = {"test": "test_cell_metamorphic", "clauses": ["CELL-03"], "message": "AssertionError"}
    err = suite_test("t_reset", one_call, kind="error", clauses=("STATE-07",))
    err["message"] = err["message"].replace("error at step 0 output: max abs diff 1",
                                            "error at step 1 step 1: both raise ValueError, but ERR-14: the "
                                            "implementation's message does not state the oracle's facts")
    other_err = dict(err, test="t_other", message=err["message"].replace("ERR-14", "ERR-15"))
    data = {"discrepancies": [backwards, gru, reset],
            "suite": {"failed_tests": [metamorphic, cell_only, err, other_err]}}
    suite = [c for c in root_causes(data) if c["source"] == "suite"]
    # FLAG-03 is go_backwards's own clause; CELL-03 is no one's (every cell reaches it); the error
    # names the reset bug's path, the other error another path.
    assert sorted(c["tests"] for c in suite) == [["t_other"], ["test_cell_metamorphic"]], suite


SINGLE_BUGS = {
    "backwards_not_reversed": ("value", case(go_backwards=True, return_sequences=True)),
    "gru_recurrent_bias_dropped": ("value", dict(case(cell="gru"), timesteps=2)),
    "stack_states_nested": ("structure", dict(case(return_state=True), cells=[{"kind": "simple", "units": 1}] * 2)),
    "reset_counts_swapped": ("error", dict(case(cell="lstm", stateful=True),
                                           steps=[{"op": "call"}, {"op": "reset", "states": "wrong_count"}])),
    "float64_rounded": ("value", case("float64", return_state=True)),
}


@pytest.mark.parametrize("target", sorted(SINGLE_BUGS))
def test_the_snippet_runs_alone_and_fails_while_the_bug_is_there(target, tmp_path):
    kind, c = SINGLE_BUGS[target]
    item = {"kind": kind, "config": c}
    text = snippet.snippet(item, f"fuzz_targets.{target}", "reference")
    assert "rnnconf" not in text and "conformance" not in text and len(text.splitlines()) <= 25, text
    status, said = snippet.check(text, f"fuzz_targets.{target}")
    assert status not in (0, None) and ("AssertionError" in said), said
    on_oracle = text.replace(f"import fuzz_targets.{target} as layers", "import rnnconf.impl as layers")
    assert snippet.check(on_oracle, "reference") == (0, "")


def test_the_bug_report_leads_with_the_snippet_and_says_how_far_the_case_goes(tmp_path):
    target = "fuzz_targets.float64_rounded"
    c = case("float64", return_state=True)
    expected, actual, verdict = judge.run_and_judge(namespaces.resolve(target), namespaces.resolve("reference"), c)
    item = {"id": "d-0001", "kind": "value", "config": c, "clauses": ["CALL-01"], "repro": "repro/d-0001.py",
            "detail": verdict["detail"], "mismatches": [m.to_dict() for m in verdict["mismatches"]],
            "fingerprint": {"kind": "value", "core": "output of the first call", "features": ["dtype:float64"]},
            "original": dict(c, flags={"return_state": True, "go_backwards": False, "unroll": True})}
    repro.write(str(tmp_path), item, target, "reference", versions={})
    md = (tmp_path / "repro" / "d-0001.md").read_text()
    short = (tmp_path / "repro" / "d-0001.snippet.py").read_text()
    assert md.index(short.strip()) < md.index("**What the minimal case shows.**") < md.index("**Versions.**")
    assert "It needs float64" in md and "unroll=True" in md and "Other built-in cell kinds fail the same way" in md
    # The truth: the reference in float64 is the oracle here, so the oracle is 0 from it, the target ~1e-8.
    words = md.split("Against a float64 NumPy computation", 1)[1].split("\n", 1)[0]
    distances = [float(x.rstrip(".")) for x in words.replace(",", " ").split() if x[:1].isdigit()]
    assert distances[-2] == 0 and 1e-10 < distances[-1] < 1e-6, words
    script = tmp_path / "repro" / "d-0001.snippet.py"
    env = dict(os.environ, PYTHONPATH=f"{TESTS}{os.pathsep}{ROOT}")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, str(script)], cwd=empty, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "AssertionError" in done.stderr


def test_a_recorded_case_keeps_only_the_features_its_bug_needs_so_its_reproducer_shows_that_bug_alone(running):
    loop = running("fuzz_targets.several_bugs")
    known_from(loop, case(cell="gru"))  # found first: its GRUCell is what the reproducer must not carry
    two_calls_and_a_wrong_reset = dict(case(cell="gru", stateful=True, unroll=True), steps=[
        {"op": "call"}, {"op": "call"}, {"op": "reset", "states": "wrong_count"}])
    v = differential.check(two_calls_and_a_wrong_reset, loop.oracle, loop.impl, fresh=True)
    assert v["fingerprint"]["core"] == "ERR-14 raised with other facts"
    fp = loop._essential(v)
    assert fp["features"] == ["calls:several", "flag:stateful", "reset:wrong_count"]
    reduced = loop._reduced(v, fp)
    assert judge.features(reduced["case"]) == ["calls:several", "cell:simple", "flag:stateful", "reset:wrong_count"]
    assert reduced["fingerprint"]["core"] == v["fingerprint"]["core"]
    reference = namespaces.resolve("reference")
    gru_bug, reset_bug = (namespaces.resolve(f"fuzz_targets.{t}")
                          for t in ("gru_recurrent_bias_dropped", "reset_counts_swapped"))
    # The shrunk case shows the GRUCell's bug as well (its calls' values); the reduced one only the reset bug.
    assert judge.run_and_judge(gru_bug, reference, v["case"])[2]["status"] == "fail"
    assert judge.run_and_judge(gru_bug, reference, reduced["case"])[2]["status"] == "pass"
    assert judge.run_and_judge(reset_bug, reference, reduced["case"])[2]["status"] == "fail"


def test_a_cell_a_known_bug_needs_is_made_another_kind_and_a_plain_one_is_kept(running):
    loop = running("fuzz_targets.several_bugs")
    known_from(loop, case(cell="gru"))
    fp = {"kind": "error", "core": "ERR-14 raised with other facts",
          "features": ["calls:several", "flag:stateful", "reset:wrong_count"]}
    for cell, becomes in (("gru", "simple"), ("lstm", "lstm"), ("simple", "simple")):
        v = differential.check(dict(case(cell=cell, stateful=True), steps=[
            {"op": "call"}, {"op": "call"}, {"op": "reset", "states": "wrong_count"}]), loop.oracle, loop.impl, fresh=True)
        assert v["fingerprint"]["core"] == fp["core"]
        assert [c["kind"] for c in loop._reduced(v, fp)["case"]["cells"]] == [becomes], cell


def _direct(err_id, n, oracle_error, impl_error):
    """A failed direct trigger of test_errors.py, as pytest reports it (same_error_class rewritten)."""
    return {"test": f"conformance/test_errors.py::test_error_direct[{err_id}-direct-{n}]", "clauses": [err_id],
            "message": f" --impl x (the trigger is the @direct('{err_id}') function there)\nE       assert False\n"
                       f"E        +  where False = <function same_error_class at 0x7fd0ec1c1580>({{'type': "
                       f"'{oracle_error}', 'mro': ['Exception'], 'message': 'An `initial_state` w...', 'stage': "
                       f"'call'}}, {{'type': '{impl_error[0]}', 'mro': ['Exception'], 'message': '{impl_error[1]}', "
                       "'stage': 'call'})\n\nconformance/test_errors.py:40: AssertionError"}


def _raising(name, c, impl_error, clauses):
    return {"test": name, "clauses": list(clauses),
            "message": f"x differs from y:\n  error at step 0 step 0: both raise, but the oracle raises ValueError: "
                       f"Layer has 1 states\n but was passed 2 and the implementation {impl_error[0]}: {impl_error[1]}"
                       f"\n\nReproduce with:\nfrom rnnconf.engine import judge; from rnnconf.adapters import namespaces\ncase = {c!r}\n"
                       "impl, oracle = 1, 2\n"}


def test_suite_failures_that_are_one_raise_or_one_structure_under_other_flags_are_one_root_cause():
    index = ("IndexError", "list index out of range")
    lstm = dict(case(cell="lstm", return_state=True), initial_state=True, initial_state_form="tensor")
    stack = dict(case(), cells=[{"kind": "lstm", "units": 3}, {"kind": "gru", "units": 2}], dtype="float64")
    pytest_form = {"test": "conformance/test_errors.py::test_error_case[ERR-28-1]", "clauses": ["ERR-28"],
                   "message": "impl_target = Target('x')\ncase = {'cells': [{'kind': 'simple', 'units': 2}], "
                              "'features': []}\n\n    def test_error_case(...):\nE       AssertionError: error at "
                              "step 0: both raise, but the oracle raises ValueError: Shape (4, 2) must have rank "
                              "and the implementation InvalidArgumentError: {{function_node __wrapped__StridedSlice"
                              "}} Index out of range using input dim 2 [Op:StridedSlice]\nE   Reproduce with: ..."}
    failed = [
        _direct("ERR-04", 2, "ValueError", index), _direct("ERR-09", 2, "ValueError", index),
        _raising("t_form", lstm, index, ("CALL-04", "ERR-04")),
        # A backend op's error is where any shape mismatch lands: one per ERR path.
        _direct("ERR-05", 1, "ValueError", ("InvalidArgumentError", "...}} Matrix size-incompatible: [Op:MatMul]")),
        _direct("ERR-29", 1, "ValueError", ("InvalidArgumentError", "...}} Matrix size-incompatible: [Op:MatMul]")),
        {"test": "conformance/test_errors.py::test_error_direct[ERR-13-direct-1]", "clauses": ["ERR-13"],
         "message": "E       AssertionError: x raised nothing on the ERR-13 trigger; the oracle raises ValueError: "
                    "'If a RNN is stateful'"},
        suite_test("t_flags1", dict(stack, flags={"return_state": True}), kind="structure", clauses=("FLAG-02",)),
        suite_test("t_flags2", dict(stack, flags={"go_backwards": True, "return_state": True}), kind="structure",
                   clauses=("FLAG-02", "FLAG-03")),
        suite_test("t_other_stack", dict(stack, dtype="float32", flags={"return_state": True}), kind="structure",
                   clauses=("CELL-10",)),
        pytest_form,
    ]
    causes = root_causes({"implementation": "x", "discrepancies": [], "suite": {"failed_tests": failed}})
    groups = sorted((sorted(t.split("::")[-1] for t in c["tests"]), c["repro"] is not None) for c in causes)
    assert groups == sorted([
        (["t_flags1", "t_flags2"], True), (["t_other_stack"], True),
        (["test_error_case[ERR-28-1]"], True),
        (["t_form", "test_error_direct[ERR-04-direct-2]", "test_error_direct[ERR-09-direct-2]"], True),
        (["test_error_direct[ERR-05-direct-1]"], False), (["test_error_direct[ERR-13-direct-1]"], False),
        (["test_error_direct[ERR-29-direct-1]"], False)]), groups
    one_raise = next(c for c in causes if "t_form" in c["tests"])
    assert one_raise["config"] == lstm and one_raise["clauses"] == ["CALL-04", "ERR-04", "ERR-09"]
    assert next(c for c in causes if "ERR-28" in c["clauses"])["config"] == {
        "cells": [{"kind": "simple", "units": 2}], "features": []}
    said = next(c for c in causes if "ERR-13" in c["clauses"])["no_repro"]
    assert "Python code in conformance/test_errors.py" in said
    assert "pytest 'conformance/test_errors.py::test_error_direct[ERR-13-direct-1]' --impl x" in said


def test_a_suite_error_joins_a_fuzzer_error_only_where_it_is_the_same_raise():
    select = dict(discrepancy(1, ["dtype:float64", "mask"], kind="error",
                              core="the implementation raises InvalidArgumentError (cannot compute SelectV_), "
                                   "the oracle nothing"), config=dict(case("float64"), mask=MASK))
    masked = dict(case("float64", go_backwards=True), mask=MASK)
    same = _raising("t_same", masked, ("InvalidArgumentError", "cannot compute SelectV2 [Op:SelectV2]"), ("FLAG-03",))
    other = _raising("t_other", masked, ("IndexError", "list index out of range"), ("FLAG-03",))
    causes = root_causes({"discrepancies": [select], "suite": {"failed_tests": [same, other]}})
    assert [c["tests"] for c in causes if c["source"] == "suite"] == [["t_other"]]


def test_four_planted_bugs_of_four_kinds_stay_four_root_causes(running):
    loop = running("fuzz_targets.several_bugs")
    found = []
    for target in ("gru_recurrent_bias_dropped", "backwards_not_reversed", "stack_states_nested",
                   "reset_counts_swapped"):
        kind, c = SINGLE_BUGS[target]
        v = differential.check(c, loop.oracle, loop.impl, fresh=True)
        fp = loop._essential(v)
        assert fp["kind"] == kind, (target, fp)
        same = loop._same_cause(fp, c)
        assert same == {}, (target, same)
        known = known_from(loop, c)
        found.append(dict(discrepancy(len(found) + 1, known["fingerprint"]["features"], kind=kind,
                                      core=known["fingerprint"]["core"]), same_cause_as=sorted(same)))
    assert len(root_causes({"discrepancies": found})) == 4


def test_two_missing_attributes_are_two_raises():
    """Keras 3's `'list' object has no attribute 'assign'` (a stateful stack's reset) and torch's
    `'tuple' object has no attribute 'shape'` (go_backwards + unroll + mask) are two bugs: the
    attribute names the raise, the object's type is a value."""
    shape = judge.message_shape
    assert shape("'list' object has no attribute 'assign'") == shape("'ListWrapper' object has no attribute 'assign'")
    assert shape("'list' object has no attribute 'assign'") != shape("'tuple' object has no attribute 'shape'")

    def failed(test, message):
        return {"test": test, "clauses": ["STATE-01"], "message": f"x differs from tf_keras:\n  error at step 0 step 0: "
                                                                  f"the implementation raises AttributeError: {message}; "
                                                                  "the oracle does not\n"}
    data = {"discrepancies": [], "suite": {"failed_tests": [failed("a", "'list' object has no attribute 'assign'"),
                                                            failed("b", "'tuple' object has no attribute 'shape'")]}}
    assert len(root_causes(data)) == 2
