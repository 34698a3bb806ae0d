"""The one judge: an oracle outcome and an implementation outcome of one case become a judgement.

The suite (helpers.assert_conforms, and the replay snippet of every failing test) and the fuzzer
(fuzz/differential.py) call `judge`, so a case is judged the same way wherever it runs; the
standalone reproducers (reports/repro.py) restate its rules in plain code, and a test checks that they
compute what execute runs:

    j = judge(case, expected, actual, run_oracle=..., impl_has=...)
    j["status"]       pass | fail | unsupported | inconclusive, or one of NOT_FAILING
    j["difference"]   for differs-by-design: the known difference (known_differences.as_difference)
    j["kind"]         for fail: crash | timeout | error | structure | shape | dtype | value
    j["fingerprint"]  for fail: {"kind", "core", "features"} (see fingerprint)
    j["margin"]       for pass: {dtype: largest passing difference over its bound} (compare)

A stochastic case (dropout while training) is judged on samples of both sides (dropout.sample_pair,
or the fuzzer's workers): its distributions are compared (dropout.compare_samples), not its values.

Statuses that differ from the oracle without failing (NOT_FAILING, reported and never failed;
docs/verdicts.md): `oracle-deviation` where the case lies inside a recorded deviation of the oracle
from its page (deviations.py) and the implementation matches the oracle or the page there;
`lenient` where the oracle refuses the input for reasons of its own machinery (an oracle-limitation
ERR path, error_catalog.LIMITATIONS) and the implementation computes what the input means (checked
against the oracle's result for the equivalent legal input); `differs-by-design` where an entry of the
implementation's known differences accounts for the failure (known_differences.py).
j["deviation"] / j["err_id"] / j["difference"] say which.

Statuses: `unsupported` where the implementation lacks a feature the case needs
(capabilities.missing_feature); `inconclusive` where every difference lies beyond the float32
recheck's ceiling but within what the case's measured sensitivity allows (compare.RECHECK_CEILING):
never a pass, and never a discrepancy.

A fingerprint tells distinct bugs apart. Its `core` is what the failure is: for errors, who raises
what (classes, the catalogued ERR path, whether only the facts of the message differ); for
results, which result differs first (output or a state) and on which call (the first, or a later
one of a stateful layer). Its `features` are the non-default parts of the case (cell kinds and
their non-default options, flags set, mask, initial state, ...). A discrepancy found and shrunk
keeps the features its bug needs, so a known discrepancy `explains` another failure with the same
kind and core whose case has all its features; shrinking keeps kind and core (`same_failure`).
Shrinking alone leaves features a bug does not need (a minimal case still has some cell kind), so
a shrunk discrepancy keeps only the features without which it no longer fails (`essential`): a bug
of every cell kind is then one discrepancy, not one per kind.
"""
import re

from . import capabilities, compare, deviations, dropout, error_catalog, execute, gradients, known_differences
from .cases import flag, is_stochastic, normalize, shape_initial_state
from .features import essential, features, without_feature, without_features  # noqa: F401 - the judge's vocabulary
from .signatures import (DISTRIBUTION, FIRST_CALL, LATER_CALL, cause_beneath, explains,  # noqa: F401 - the judge's vocabulary
                         same_failure, shared_cause, signature)

KIND_ORDER = ("crash", "timeout", "error", "structure", "shape", "dtype", "value")

# The statuses that report a difference from the oracle without failing the implementation, in the
# order a clause shows them: every consumer (suite, fuzzer, results.json, report, JUnit, exit status)
# reads this tuple, so a new one joins here.
NOT_FAILING = ("oracle-deviation", "lenient", known_differences.STATUS)

def judge(case, expected, actual, run_oracle=None, impl_has=None, known=None, passes=None, attach=True):
    """The judgement of the implementation's outcome `actual` against the oracle's `expected`.
    `run_oracle(case)` gives the oracle's outcome of another case, or None (the float32 recheck, the
    page's outcome of a deviation, the legal equivalent of a refused input; a case with `samples`
    asks for dropout samples); `impl_has(name)` says whether the implementation has an optional name
    (unsupported features); `known`: the implementation's known differences (known_differences.read):
    a failure one accounts for is `differs-by-design`, where `passes(case)` (both sides run another
    case) confirms it. `attach=False` judges against `expected` alone (no deviation, leniency or
    known difference)."""
    j = _judge(normalize(case), expected, actual, run_oracle, impl_has)
    if attach and j["status"] == "fail":
        # The implementation's own documented difference, where one accounts for the failure, is the
        # more specific word for its users than the oracle's deviation that may cover it too.
        by_design = known_differences.by_design(j, normalize(case), known, passes, (expected, actual),
                                                _like(actual, run_oracle, impl_has))
        j = (_lenient(case, expected, actual, j, run_oracle, impl_has)
             or (by_design if by_design is not j else None)
             or _deviation(case, expected, actual, j, run_oracle, impl_has, known, passes)
             or j)
    return j


def _judge(case, expected, actual, run_oracle, impl_has):
    margins = {}
    if is_stochastic(case) and expected.get("samples") and actual.get("samples"):
        mismatches = dropout.compare_samples(expected, actual, case)  # distributions, not values
    else:
        recheck = compare.float64_recheck(run_oracle, case) if run_oracle is not None else None
        mismatches = compare.compare(expected, actual, case, recheck_f64=recheck,
                                     structural_only=is_stochastic(case), margins=margins)
    real = [m for m in mismatches if m.kind != "inconclusive"]
    impl_error = first_error(actual)
    if not real and mismatches:
        return _judgement("inconclusive", detail=_where(mismatches[0]), mismatches=mismatches)
    # Both raising can pass on the class alone. Where the implementation's error refuses a feature the
    # case uses and the oracle's error is not about that feature, each raised for its own reason:
    # the case is unsupported, not a pass.
    missing = (capabilities.missing_feature(impl_has, case, impl_error)
               if impl_has is not None and (real or impl_error is not None) else None)
    if missing and not real and missing in (first_error(expected) or {}).get("message", ""):
        missing = None
    if missing:
        said = impl_error and impl_error["message"].strip().startswith(missing)  # NotImplementedError's own words
        detail = f"lacks {missing}" + (f" ({impl_error['type']}: {impl_error['message'][:200]})"
                                       if impl_error and not said else "")
        return _judgement("unsupported", detail=detail, missing=missing)
    if not mismatches:
        return _judgement("pass", margin=margins, detail=_refusal_accepted(expected, actual))
    kind = min((m.kind for m in real), key=KIND_ORDER.index)
    first = next(m for m in real if m.kind == kind)
    return _judgement("fail", kind=kind, detail=_where(first), mismatches=real,
                      fingerprint=fingerprint(case, kind, first, expected, actual))


def _refusal_accepted(expected, actual):
    """Where both sides raise and pass: which error of the implementation stood for the oracle's
    (compare.error_class_match), for the verdict to say; else ""."""
    exp, act = first_error(expected), first_error(actual)
    match = compare.error_class_match(exp, act) if exp is not None and act is not None else None
    return f"both raise: the implementation {match['how']}" if match else ""


# ---- differences that are not failures --------------------------------------------------------------
def _first_mismatch_step(j):
    steps = [m.step for m in j["mismatches"] if m.kind != "inconclusive"]
    return min(steps) if steps else -1


def _deviation(case, expected, actual, j, run_oracle, impl_has, known=None, passes=None):
    """`oracle-deviation` where the failure `j` lies inside a recorded deviation (deviations.py: its
    predicate, its oracle outcome, and no mismatch before the step it can change) and the
    implementation matches the page there (when the page's outcome can be computed), up to one of
    its known differences (`known`, `passes`: as for judge), or refuses the case with the oracle's
    own words (the class aside: where the page wants results, the oracle's class is no contract);
    else None."""
    case = normalize(case)
    unfollowed = []  # deviations whose page the implementation does not follow either
    for d in deviations.DEVIATIONS:
        if not d["applies"](case) or not d.get("oracle_shows", lambda out: True)(expected):
            continue
        if "explains" in d and not d["explains"]([m for m in j["mismatches"] if m.kind != "inconclusive"]):
            continue  # a difference the deviation does not account for
        from_step = d.get("from_step", lambda c: 0)(case)
        before = None  # the known difference that accounts for the steps before the deviation acts
        if from_step and _first_mismatch_step(j) < from_step:
            before = _known_before(case, expected, actual, from_step, run_oracle, impl_has, known, passes)
            if before is None:
                continue  # it differs before the deviation can act: a failure of its own
        page = d.get("page_cases")
        if "explains" in d:
            how = "the difference is the one the deviation makes"
        elif page is None or run_oracle is None:
            how = "the page's outcome is not computed here"
        else:
            how = (_same_refusal(expected, actual)
                   or _follows_page(case, page(case), actual, run_oracle, impl_has, known, passes))
            if how is None:
                unfollowed.append(d)
                continue
        if before is not None:
            how += f"; before step {from_step}, a known difference: {before['note']} ({before['url']})"
        return dict(_judgement("oracle-deviation", detail=f"{d['id']}: {how}; the oracle: {j['detail']}",
                               mismatches=j["mismatches"]), deviation=d["id"])
    if unfollowed and first_error(expected) is not None:  # the oracle raises: the page is what to differ from
        d = unfollowed[0]
        return _against_page(j, case, d, d["page_cases"](case), actual, run_oracle, impl_has)
    return None


def _known_before(case, expected, actual, step, run_oracle, impl_has, known, passes):
    """The implementation's known difference (as_difference) that accounts for every difference in
    the steps before `step`, those steps judged alone; None where there is none or another failure."""
    if not known or not expected.get("steps") or not actual.get("steps") or not case["steps"]:
        return None
    head = dict(case, steps=case["steps"][:step])
    judged = judge(head, dict(expected, steps=expected["steps"][:step]), dict(actual, steps=actual["steps"][:step]),
                   run_oracle=run_oracle, impl_has=impl_has, known=known, passes=passes)
    return judged.get("difference") if judged["status"] == known_differences.STATUS else None


def _against_page(j, case, deviation, page_cases, actual, run_oracle, impl_has):
    """The failure `j` inside a recorded deviation where the oracle raises and the implementation
    follows the page neither: still `j` (its kind and fingerprint, as the fuzzer shrinks and groups
    it), its detail adding how the implementation differs from what the page says (the oracle's
    outcome of the first page case), which is what its maintainers can act on."""
    page_case = next((normalize(p) for p in page_cases if "raises" not in p), None)
    if page_case is None or is_stochastic(page_case):
        return None
    page_outcome = run_oracle(page_case)
    if page_outcome is None:
        return None
    judged = judge(page_case, page_outcome, actual, run_oracle=run_oracle, impl_has=impl_has, attach=False)
    if judged["status"] != "fail":
        return None
    return dict(j, detail=f"{j['detail']}; inside {deviation['id']}, where the oracle raises, and against what "
                          f"the page says (the oracle's outcome of {_differences(case, page_case)}): "
                          f"{judged['detail']}")


def _same_refusal(expected, actual):
    """How the implementation refuses the case as the oracle does (words): the same message, at the
    same step, whatever the class; else None."""
    exp, act = first_error(expected), first_error(actual)
    if exp is None or act is None or exp.get("stage") != act.get("stage") or exp["type"] == act["type"]:
        return None
    if message_shape(exp["message"]) != message_shape(act["message"]):
        return None
    return f"refuses it with the oracle's message ({act['type']} where the oracle raises {exp['type']})"


def _like(actual, run_oracle, impl_has):
    """known_differences' `like(case, reorder=None)` for the implementation's outcome `actual`."""
    if run_oracle is None:
        return None
    return lambda other, reorder=None: _matches_oracle_of(other, actual, run_oracle, impl_has, reorder)


def _matches_oracle_of(other, actual, run_oracle, impl_has, reorder=None):
    """Whether the implementation's outcome `actual` is the oracle's outcome of case `other` (a
    stochastic one by its distribution); with `reorder(outcome, other)`, whether it holds the arrays
    of the oracle's outcome so reordered, however nested."""
    other = normalize(other)
    if is_stochastic(other) and actual.get("samples"):
        other = dict(other, samples=[dropout.SAMPLES, dropout.SAMPLES, other["seed"]])
    outcome = run_oracle(other)
    if outcome is None:
        return False
    if reorder is not None:
        # Reordered states may also be nested otherwise (tfjs' flat list): the arrays, in the oracle's
        # nesting, are judged as any results (by distribution under dropout).
        outcome = reorder(outcome, other)
        actual = known_differences.renested_like(outcome, actual) or actual
    judged = judge(dict(other, samples=None), outcome, actual, run_oracle=run_oracle, impl_has=impl_has, attach=False)
    return judged["status"] in ("pass", "inconclusive")


def _follows_page(case, page_cases, actual, run_oracle, impl_has, known=None, passes=None):
    """How the implementation's outcome matches one of the page's (words), or None if none. With its
    `known` differences, a page outcome that differs from the implementation's only by one of them
    counts as matched, and says which."""
    for page_case in page_cases:
        if "raises" in page_case:
            err = first_error(actual)
            want = page_case["raises"]
            if err is not None and (want is True or err["type"] == want or want in err.get("mro", ())):
                return f"raises {err['type']}, as the page wants"
            continue
        page_case = normalize(page_case)
        if is_stochastic(page_case) and actual.get("samples"):
            page_case = dict(page_case, samples=[dropout.SAMPLES, dropout.SAMPLES, page_case["seed"]])
        page_outcome = run_oracle(page_case)
        if page_outcome is None:
            continue
        judged = judge(dict(page_case, samples=None), page_outcome, actual, run_oracle=run_oracle,
                       impl_has=impl_has, attach=False)
        if judged["status"] in ("pass", "inconclusive"):
            return "matches what the page says (the oracle's outcome of " + _differences(case, page_case) + ")"
        as_given = _states_nested_as_given(page_outcome, case)
        if as_given is not page_outcome and judge(dict(page_case, samples=None), as_given, actual, run_oracle=run_oracle,
                                                  impl_has=impl_has, attach=False)["status"] in ("pass", "inconclusive"):
            return ("matches what the page says (the oracle's outcome of " + _differences(case, page_case) + "), "
                    "its returned states nested as the input nests the initial states")
        by_design = known_differences.by_design(judged, page_case, known, passes, (page_outcome, actual),
                                                _like(actual, run_oracle, impl_has))
        if by_design["status"] == known_differences.STATUS:
            d = by_design["difference"]
            return (f"differs from what the page says (the oracle's outcome of {_differences(case, page_case)}) only "
                    f"by a known difference of the implementation ({d['note'] or d['entry']}; {d['url']})")
    return None


def _states_nested_as_given(outcome, case):
    """`outcome` (of the case with its initial states as the plain list) with each call's returned
    states nested as `case` gives its initial states on that call (cases.shape_initial_state), as
    Keras 2 returns them; `outcome` itself where no call returns states it was given otherwise."""
    case = normalize(case)
    if not flag(case, "return_state") or not outcome or "steps" not in outcome:
        return outcome
    steps, changed = [], False
    for step, result in zip(case["steps"], outcome["steps"]):
        form = step.get("initial_state_form", case["initial_state_form"])
        given = step.get("op", "call") == "call" and step.get("initial_state", case["initial_state"])
        states = result.get("result")
        if given and form not in (None, "list") and isinstance(states, list) and len(states) > 1:
            nested = shape_initial_state(list(states[1:]), form)
            result = dict(result, result=[states[0], *(nested if isinstance(nested, (list, tuple)) else [nested])])
            changed = True
        steps.append(result)
    return dict(outcome, steps=steps) if changed else outcome


def _differences(case, other):
    changed = [k for k in sorted(set(case) | set(other)) if k != "samples" and case.get(k) != other.get(k)]
    return "the case with " + ", ".join(f"{k}={other.get(k)!r}"[:80] for k in changed) if changed else "the case"


def _lenient(case, expected, actual, j, run_oracle, impl_has):
    """`lenient` where the oracle refuses the case on an oracle-limitation ERR path (or crashes on an
    input that means something: error_catalog.CRASH_EQUIVALENTS), the implementation returns, and
    its results are the oracle's for the equivalent legal case; `inconclusive` where no
    legal equivalent can be built from the case (what it computed is unchecked); `pass` where the
    implementation refuses it too, with whatever class (the contract asks for no error there, so for
    no class either); else None."""
    oracle_error = first_error(expected)
    if oracle_error is None:
        return None
    err_id = error_catalog.classify(oracle_error, case)
    limitation = error_catalog.LIMITATIONS.get(err_id)
    impl_error = first_error(actual)
    if limitation is None:  # a crash of the oracle's machinery on an input that means something
        err_id = error_catalog.classify_other(oracle_error)
        limitation = error_catalog.CRASH_EQUIVALENTS.get(err_id)
        if (limitation is None or limitation["legal_case"](case) is None or impl_error is not None
                or run_oracle is None):
            return None  # a refusal there is judged by the crash rule (compare.error_class_match), results fail
    if impl_error is not None:
        return _judgement("pass", detail=f"both refuse {err_id} (an oracle limitation): the implementation "
                                         f"with {impl_error['type']}")
    legal = limitation.get("legal_case")
    if legal is None or run_oracle is None:
        return _judgement("inconclusive", detail=f"{err_id} (an oracle limitation) accepted; what it computed is "
                                                 "not checked: no legal equivalent of the case")
    legal_case = normalize(legal(normalize(case)))
    legal_outcome = run_oracle(legal_case) or {"error": {"type": "?", "message": ""}}
    judged = judge(legal_case, legal_outcome, actual, run_oracle=run_oracle, impl_has=impl_has, attach=False)
    if judged["status"] not in ("pass", "inconclusive"):
        # Keras returns the final states nested as the initial states were given: so may the implementation.
        as_given = _states_nested_as_given(legal_outcome, normalize(case))
        if as_given is legal_outcome or judge(legal_case, as_given, actual, run_oracle=run_oracle, impl_has=impl_has,
                                              attach=False)["status"] not in ("pass", "inconclusive"):
            return None
    return dict(_judgement("lenient", detail=f"accepts what the oracle refuses for its own reasons ({err_id}: "
                                             f"{limitation['reason']}), and computes what "
                                             "the oracle computes for the legal equivalent",
                           mismatches=j["mismatches"]), err_id=err_id)


def failure(case, kind, detail, expected=None, actual=None, core=""):
    """The judgement of a case whose implementation side crashed or hung (no outcome to compare)."""
    return _judgement("fail", kind=kind, detail=detail,
                      fingerprint={"kind": kind, "core": core, "features": features(case)})


def _judgement(status, kind=None, detail="", mismatches=(), fingerprint=None, missing=None, margin=None):
    return {"status": status, "kind": kind, "detail": detail, "mismatches": list(mismatches),
            "fingerprint": fingerprint, "missing": missing, "margin": margin or {}}


def _where(m):
    where = m.path if m.step < 0 or m.path.startswith("step") else f"step {m.step} {m.path}"
    return f"{where}: {m.detail}"


def first_error(outcome):
    if outcome.get("error"):
        return outcome["error"]
    return next((s["error"] for s in outcome.get("steps", []) if "error" in s), None)


# ---- fingerprints ----------------------------------------------------------------------------------
def fingerprint(case, kind, first, expected, actual):
    """{"kind", "core", "features"} of a failure whose first mismatch of `kind` is `first`."""
    case = normalize(case)
    if kind == "error":
        core = _error_core(first, case, actual)
    elif first.path == "steps":
        core = "number of step results"
    elif kind == "structure":
        core = f"nesting of the results of {'the first call' if _first_call(case, first.step) else 'a later call'}"
    else:
        where = gradients.core(first.path) or ("state" if first.path.startswith("state") else "output")
        core = where + (FIRST_CALL if _first_call(case, first.step) else LATER_CALL)
        if first.stats.get("test"):
            core = f"{DISTRIBUTION}{core}"  # dropout: compared by a two-sample test
        if kind == "dtype":
            core += " " + first.detail.split("expected dtype ", 1)[-1]
    if actual.get("reused"):
        core += ON_REUSED
    return {"kind": kind, "core": core, "features": features(case)}


ON_REUSED = " (on a reused layer)"  # a failure of a layer built for an earlier case


def as_on_fresh(fp):
    """Failure `fp` as a fresh layer would show it: without ON_REUSED."""
    return dict(fp, core=fp["core"].removesuffix(ON_REUSED))


def _first_call(case, step):
    calls = [i for i, s in enumerate(case["steps"] or [{"op": "call"}]) if s.get("op", "call") == "call"]
    return step < 0 or not calls or step <= calls[0]


def _error_core(m, case, actual=None):
    """Who raises what at the first error mismatch `m`: "the implementation CLASS later" where it raises
    nothing there but refuses the case at a later step (the oracle refuses when the layer is made)."""
    exp, act = m.stats.get("expected"), m.stats.get("actual")
    err_id = error_catalog.classify(exp, case) if exp else None
    if exp and act:
        return _other_facts(err_id) if m.stats.get("facts") is False else _raises(err_id or exp["type"], act["type"])
    if exp:
        later = first_error(actual) if actual else None
        return _raises(err_id or exp["type"], later and f"{later['type']} later")
    return f"the implementation raises {act['type']} ({message_shape(act['message'])}), the oracle nothing"


def _raises(oracle_raises, impl_raises):
    return f"oracle raises {oracle_raises}, the implementation {impl_raises or 'nothing'}"


def _other_facts(err_id):
    return f"{err_id} raised with other facts"


def direct_failure(err_id, oracle_error, impl_error, features=()):
    """The judgement of a direct error trigger of path `err_id` (conformance/error_triggers.py: calls,
    no case): `pass` where the implementation's error stands for the oracle's (compare.error_class_match,
    and the facts where compared), else `fail` with a case's error core, the trigger's API as its
    features (`api:NAME`, `flag:ARG`) and its path as `trigger` (no case to rerun: known_differences)."""
    match = compare.error_class_match(oracle_error, impl_error) if impl_error else None
    ok, facts = error_catalog.facts_match(oracle_error, impl_error, err_id) if match and match["facts"] else (True, "")
    if match and ok:
        return _judgement("pass", detail=f"both raise: the implementation {match['how']}")
    core = _other_facts(err_id) if match else _raises(err_id, impl_error and impl_error["type"])
    said = facts if match else f"{err_id}: the implementation raises {_said(impl_error) if impl_error else 'nothing'}"
    fp = {"kind": "error", "core": core, "features": sorted(set(features)), "trigger": err_id}
    return _judgement("fail", kind="error", fingerprint=fp, detail=f"{said}; the oracle raises {_said(oracle_error)}")


def _said(error):
    return f"{error['type']}: {error['message'][:400]!r}"


_VALUES = re.compile(r"(\d+(\.\d+)?(e-?\d+)?|0x[0-9a-f]+|'[^']*'|\"[^\"]*\"|`[^`]*`|\([^()]*\)|\[[^\[\]]*\])")


def message_shape(message):
    """An error message with its values (numbers, quoted names, shapes) blanked and cut to its first
    sentence: what stays the same when the same check fails on other inputs."""
    first = re.split(r"(?<=[.:;])\s|\n", message.strip(), maxsplit=1)[0]
    # The missing attribute names the raise ('list' object has no attribute 'assign' is another bug
    # than 'tuple' object has no attribute 'shape'); the object's type is a value.
    first = re.sub(r"has no attribute '(\w+)'", r"has no attribute \1", first)
    return " ".join(_VALUES.sub("_", first).split()[:12])




def run_and_judge(impl, oracle, case, known=None):
    """(oracle outcome, implementation outcome, judgement) of `case` run on fresh layers of both
    Targets: what the suite's tests, their replay snippets and the reproducers call. With `known`
    differences, a failure one accounts for is `differs-by-design` (judge)."""
    case = normalize(case)
    if is_stochastic(case):
        expected, actual = dropout.sample_pair(impl, oracle, case, seed=case["seed"])
    else:
        expected, actual = execute.run(oracle, case), execute.run(impl, case)
    j = judge(case, expected, actual, run_oracle=oracle_runner(oracle), impl_has=impl.has, known=known,
              passes=lambda c: run_and_judge(impl, oracle, c)[2])
    return expected, actual, j


def oracle_runner(oracle):
    """judge's `run_oracle` for an oracle Target: the outcome of a case on a fresh layer, or, for a
    case asking for `samples`, its dropout samples (the page's distribution of a deviation)."""
    def run_oracle(c):
        if c.get("samples"):  # as the fuzzer's workers sample
            n, per_call, seed = c["samples"]
            return dropout.sample(oracle, dict(c, samples=None), n, per_call=per_call, seed=seed)
        return execute.run(oracle, c)
    return run_oracle
