"""One differential example: run a case on the oracle and the implementation, compare, account.

The verdict is plain data (JSON-able), so the campaign can log it, dedupe it and hand it to the
reproducer writer. Judging is rnnconf.engine.judge.judge (the suite's judge too),
clause accounting is rnnconf.engine.exercised.exercised: nothing here re-implements them.
"""
import time

import numpy as np

from rnnconf.engine import dropout, gradients, known_differences
from rnnconf.engine import judge as judgement
from rnnconf.engine.cases import is_stochastic, normalize
from rnnconf.engine.exercised import UBIQUITOUS, exercised
from rnnconf.engine.deviations import BY_ID

# Cases in flight on each worker, at least, once a drawn case's first variant has passed. A worker answers
# a message's cases together, so this is twice SEND_BATCH: while the driver judges one message's
# answers, the next message is already running.
PIPELINE_DEPTH = 8
SEND_BATCH = 4      # cases sent to a worker in one message when it runs low (Worker.submit_all)


def check(case, oracle, impl, fresh=False, known=None):
    """Run `case` on both Workers (on new layers if `fresh`); the verdict dict (see `verdict`), with
    the seconds each side and the comparison took under "seconds". `known`: the implementation's
    known differences (rnnconf.engine.known_differences)."""
    oracle.submit(sampled(case, oracle=True), fresh)
    impl.submit(sampled(case, oracle=False), fresh)
    return _judge_answers(case, oracle, impl, known=known)


def sampled(case, oracle):
    """What a worker is sent for `case`: a stochastic case (dropout while training) as a request for
    dropout.SAMPLES samples, the oracle's in one call of the batch repeated, the implementation's
    in calls of IMPL_PER_CALL copies (so masks shared across rows or calls show)."""
    if not is_stochastic(normalize(case)):
        return case
    per_call = dropout.SAMPLES if oracle else dropout.IMPL_PER_CALL
    return dict(case, samples=[dropout.SAMPLES, per_call, case.get("seed", 0)])


def check_all(cases, oracle, impl, depth=PIPELINE_DEPTH, wanted=None, known=None):
    """The verdicts of `cases`, in order, with `depth` or more cases in flight on each worker while the
    caller judges the previous verdict (see submit_until). The first case runs alone: it builds the layers, and if it
    stops at an error the rest would only repeat it. Stop iterating at any time; close the generator
    (contextlib.closing) so the answers still owed are drained. A caller that knows it will stop early
    passes `wanted`: asked before each case is collected, it returns how many more verdicts (this one
    included) the caller can still use, or None for all; no case beyond that is sent, so none is run
    only to be drained. A crash or timeout ends the stream: the answers queued behind it are lost."""
    submitted, confirmed = 0, []
    try:
        for index, case in enumerate(cases):
            more = wanted() if wanted is not None else None
            usable = len(cases) if more is None else min(len(cases), index + max(1, more))
            end = submit_until(index, submitted, usable, depth)
            if end > submitted:
                oracle.submit_all([sampled(c, oracle=True) for c in cases[submitted:end]])
                impl.submit_all([sampled(c, oracle=False) for c in cases[submitted:end]])
                submitted = end
            v = _judge_answers(case, oracle, impl, confirmed, known=known)
            yield v
            if v["kind"] in ("crash", "timeout"):
                return
    finally:
        oracle.drain()
        impl.drain()


def submit_until(index, submitted, total, depth=PIPELINE_DEPTH, batch=SEND_BATCH):
    """How far the cases must have been submitted before case `index` is collected: the first case
    alone; after it, once fewer than `depth` are in flight, `batch` more in one message."""
    if index == 0:
        return min(1, total)
    if submitted >= index + depth:
        return submitted
    return min(total, max(submitted, index + depth + batch - 1))


def _judge_answers(case, oracle, impl, confirmed=None, known=None):
    """The verdict on the next answers of both workers, with how each side ran the case ("paths":
    fresh, reused, traced or untraceable, see execute.Session)."""
    oracle_result, impl_result = oracle.collect(), impl.collect()
    v = judge(case, oracle_result, impl_result, oracle, impl, confirmed, known=known)
    v["paths"] = {"oracle": _path(oracle_result), "impl": _path(impl_result)}
    v["converted"] = impl_result[4] if impl_result[0] == "ok" and len(impl_result) > 4 else 0
    return v


def judge(case, oracle_result, impl_result, oracle, impl, confirmed=None, known=None):
    """The verdict on one case from both workers' answers (`oracle` may be asked for a float64 rerun),
    through rnnconf.engine.judge, the suite's and the reproducers' judge too.

    `confirmed`: the fingerprints of failures a fresh layer showed in earlier variants of the same
    drawn case (check_all's list, extended here). A reused layer failing with one of them is not run
    again fresh: the failure is this structure's, already seen on a fresh layer, and a known
    discrepancy that fails every variant would otherwise cost a fresh layer per variant."""
    seconds = {"oracle": _seconds(oracle_result), "impl": _seconds(impl_result)}
    if oracle_result[0] != "ok":
        # A busy machine can stall the oracle past its timeout: it gets one more try on a fresh layer.
        again = oracle.run(sampled(case, oracle=True), fresh=True)
        if again[0] != "ok":
            # The oracle itself crashes or hangs here: nothing to judge the implementation by. Never a
            # discrepancy; the run lists such examples (results.json "oracle_failures").
            return verdict(case, exercised(case), inconclusive=True, side="oracle",
                           detail=f"oracle {again[0]}: {again[1]}", seconds=seconds)
        oracle_result = again
    expected = oracle_result[1]
    clauses = exercised(case, expected)
    oracle_error = bool(expected.get("error") or any("error" in s for s in expected["steps"]))
    timed_out_once = False
    if impl_result[0] in ("timeout", "lost"):
        # Likewise for the implementation: the case runs again on a fresh layer (a case lost behind
        # a timeout had not run at all). A timeout that repeats is a hang. One that does not is the
        # machine's load or a hang of a reused layer (its history died with the worker): a failing
        # second answer is judged, a passing one makes the example inconclusive, never a pass.
        again = impl.run(sampled(case, oracle=False), fresh=True)
        if again[0] == "ok":
            timed_out_once = impl_result[0] == "timeout"
            impl_result = again
    if impl_result[0] != "ok":
        reused = "reused layer" in impl_result[1]
        j = judgement.failure(case, impl_result[0], impl_result[1], core="on a reused layer" if reused else "")
        return verdict(case, clauses, kind=j["kind"], detail=j["detail"], oracle_error=oracle_error,
                       seconds=seconds, fingerprint=j["fingerprint"])
    actual = impl_result[1]

    def run_oracle(c):
        result = oracle.run(c)
        return result[1] if result[0] == "ok" else None
    start = time.perf_counter()
    j = judgement.judge(case, expected, actual, run_oracle=run_oracle, impl_has=impl.available.__contains__)
    seconds["compare"] = time.perf_counter() - start
    judged = actual  # the implementation's outcome the judgement is of
    path = _path(impl_result)
    confirmed = [] if confirmed is None else confirmed
    on_fresh = path in (None, "fresh", "sampled")
    if j["status"] == "fail" and not on_fresh and judgement.as_on_fresh(j["fingerprint"]) in confirmed:
        j = dict(j, fingerprint=judgement.as_on_fresh(j["fingerprint"]))  # the failure the fresh layer showed
    elif j["status"] == "fail" and not on_fresh:
        # Failed on a layer built for an earlier case: a fresh layer decides. The same failure there
        # is an ordinary one. Otherwise a compiled reuse (the adapter's speed-up) was at fault and the
        # fresh verdict stands; an eager reuse is the layer's own history, replayed by running the
        # earlier case first (execute.run's `warmup`).
        fresh = impl.run(case, fresh=True)
        again = (judgement.judge(case, expected, fresh[1], run_oracle=run_oracle,
                                 impl_has=impl.available.__contains__) if fresh[0] == "ok" else None)
        if again is not None and (again["status"] == "fail" or path == "traced"):
            j, on_fresh, judged = again, True, fresh[1]
        elif actual.get("reused"):
            case = dict(case, warmup=actual["reused"])
    if j["status"] == "fail" and on_fresh and j["fingerprint"] not in confirmed:
        confirmed.append(j["fingerprint"])
    if j["status"] == "fail" and known:
        # A known difference accounts for it only where the case without the difference passes: run on
        # fresh layers. The judge applies it to the case, and to a deviation's page case (a case inside
        # a recorded deviation that differs from the page only by a known difference).
        again = judgement.judge(case, expected, judged, run_oracle=run_oracle, impl_has=impl.available.__contains__,
                                known=known, passes=lambda c: _passes(c, oracle, impl))
        j = j if again["status"] == "fail" else again
    if j["status"] == known_differences.STATUS:
        entry = next(e for e in known if (e["file"], e["line"]) == (j["difference"]["file"], j["difference"]["line"]))
        own = known_differences.clauses_of(entry, normalize(case), clauses)
        return dict(verdict(case, own, detail=j["detail"], oracle_error=oracle_error, seconds=seconds,
                            named=j["status"], why=entry["entry"],
                            by_design=dict(j["difference"], kind=j["kind"], fingerprint=j["fingerprint"])),
                    named_clauses=own)
    if j["status"] == "fail":
        clauses = gradients.blamed(clauses, j["mismatches"])  # a gradient-only failure is the GRAD clauses'
    if timed_out_once and j["status"] == "pass":
        return verdict(case, clauses, inconclusive=True, oracle_error=oracle_error, seconds=seconds,
                       detail="timed out, then passed on a fresh layer: the machine's load, or a hang of a "
                              "reused layer")
    named = j["status"] if j["status"] in judgement.NOT_FAILING else None
    return verdict(case, clauses, kind=j["kind"], detail=j["detail"], oracle_error=oracle_error, seconds=seconds,
                   mismatches=[_jsonable(m.to_dict()) for m in j["mismatches"]],
                   unsupported=j["status"] == "unsupported", inconclusive=j["status"] == "inconclusive",
                   fingerprint=j["fingerprint"], margin=j["margin"], missing=j["missing"], named=named,
                   why=j.get("deviation") or j.get("err_id"))


def _passes(case, oracle, impl):
    """The verdict on `case` run on fresh layers of both workers (run: answers still in flight stay
    queued): what a known difference's `without` check asks (known_differences.shows_failure)."""
    answers = [w.run(sampled(case, oracle=w is oracle), fresh=True) for w in (oracle, impl)]
    return judge(case, *answers, oracle, impl)


def variants(case, count):
    """`case` and count-1 cases of the same structure (so the workers reuse the layers built for
    `case`) that differ in their data (see variant)."""
    return [case] + [variant(case, i) for i in range(1, count)]


def variant(case, i):
    """Data variant i >= 1 of `case`, computed from `case` and i alone (the campaign's log rebuilds
    it from them): the seed (weights, inputs, initial states), the weight scale, and the mask's values
    where the case has a mask of the usual shape (rows full, empty, padded on either side or holed,
    as strategies.masks draws them). Where `case` fixes its weights (`weights_seed`: converters, which
    convert once per weights), its variants keep them and the weight scale."""
    seed = (case.get("seed", 0) * 7919 + i * 104729) % 2 ** 31
    out = dict(case, seed=seed)
    rng = np.random.default_rng([seed, 7])
    scale = float(rng.choice(WEIGHT_SCALES))  # drawn either way: the mask's draws that follow stay the same
    if case.get("weights_seed") is None:
        out["weight_scale"] = scale
    if _is_grid(case.get("mask"), case.get("batch"), case.get("timesteps")):
        out["mask"] = [_mask_row(rng, case["timesteps"]) for _ in range(case["batch"])]
    return out


WEIGHT_SCALES = (1.0, 0.7, 1.3)  # recurrent scales near 1: state-carrying bugs neither fade nor explode


def _is_grid(mask, batch, timesteps):
    return (isinstance(mask, list) and len(mask) == batch
            and all(isinstance(row, list) and len(row) == timesteps for row in mask))


def _mask_row(rng, timesteps):
    pattern = rng.integers(5)
    if pattern == 0:
        return [1] * timesteps
    if pattern == 1:
        return [0] * timesteps
    if pattern == 2:
        return [int(b) for b in rng.integers(0, 2, timesteps)]
    keep = int(rng.integers(0, timesteps + 1))
    pad = [0] * (timesteps - keep)
    return [1] * keep + pad if pattern == 3 else pad + [1] * keep


def _seconds(result):
    return result[2] if result[0] == "ok" and len(result) > 2 else None


def _path(result):
    return result[3] if result[0] == "ok" and len(result) > 3 else None


def verdict(case, clauses, kind=None, detail="", mismatches=(), unsupported=False, side="implementation",
            oracle_error=False, seconds=None, inconclusive=False, fingerprint=None, margin=None, missing=None,
            named=None, why=None, by_design=None):
    """ok / unsupported / inconclusive / kind (a discrepancy, with its fingerprint: rnnconf.engine.judge),
    or `named`: one of judge.NOT_FAILING (ok, and reported as that status; `why` the deviation's id or
    the ERR path),
    with the clause ids the case reached; `oracle_error` says the oracle stopped at an error (later
    steps of a stateful run would add nothing); `margin` of a pass: {dtype: difference over bound};
    `missing`: the feature an unsupported case needs and the implementation lacks; `by_design`: for
    differs-by-design, the known difference that accounts for the case's failure."""
    if kind is not None and fingerprint is None:
        fingerprint = {"kind": kind, "core": side, "features": judgement.features(case)}
    return {"case": case, "clauses": sorted(clauses), "ok": kind is None and not inconclusive,
            "named_clauses": named_clauses(clauses, why) if named else None,
            "by_design": by_design,
            "unsupported": unsupported, "inconclusive": inconclusive, "kind": kind, "detail": detail,
            "mismatches": list(mismatches), "side": side, "seconds": seconds or {}, "oracle_error": oracle_error,
            "fingerprint": fingerprint, "margin": margin or {}, "missing": missing, "named": named, "why": why}


def named_clauses(clauses, why):
    """The clauses a judge.NOT_FAILING verdict counts for: those of its deviation (deviations.py) or
    its ERR path that the case reached; else the case's clauses less the ubiquitous ones. Its other
    clauses count nothing, as a failing example's do (results.merge_fuzz)."""
    own = set(BY_ID[why]["clauses"]) if why in BY_ID else {why}
    return sorted(own & set(clauses)) or sorted(set(clauses) - UBIQUITOUS) or sorted(clauses)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x
