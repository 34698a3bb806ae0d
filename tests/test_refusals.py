"""fuzz.refusals: a feature the implementation always refused is mostly not run again, and counted."""
from fuzz import differential
from fuzz.refusals import LEARN_AFTER, SAMPLE, Refusals

TIME_MAJOR = {"cells": [{"kind": "gru", "units": 2}], "flags": {"time_major": False}}
PLAIN = {"cells": [{"kind": "gru", "units": 2}], "flags": {}}


def refused(case, feature="time_major"):
    return differential.verdict(case, [], unsupported=True, missing=feature, detail=f"lacks {feature}")


def cases_using_time_major(n):
    return [dict(TIME_MAJOR, seed=s) for s in range(n)]


def test_nothing_is_skipped_before_the_feature_was_refused_often_enough():
    memo = Refusals(seed=1)
    for _ in range(LEARN_AFTER - 1):
        memo.learn(refused(TIME_MAJOR))
    assert all(memo.skip(c) is None for c in cases_using_time_major(50))
    assert memo.take_skipped() == {}


def test_a_feature_always_refused_is_run_in_one_case_of_sample_and_the_rest_counted():
    memo = Refusals(seed=1)
    for _ in range(LEARN_AFTER):
        memo.learn(refused(TIME_MAJOR))
    drawn = cases_using_time_major(800)
    ran = [c for c in drawn if memo.skip(c) is None]
    assert 0.5 * 800 / SAMPLE < len(ran) < 1.5 * 800 / SAMPLE
    assert memo.take_skipped() == {"time_major": 800 - len(ran)}
    assert memo.take_skipped() == {}  # counted once, for the round that skipped them
    assert all(memo.skip(dict(PLAIN, seed=s)) is None for s in range(50))  # cases without it all run
    # The choice is a function of the case and the seed: a replay skips the same cases.
    again = Refusals(seed=1)
    again.refused = memo.refused
    assert [c for c in drawn if again.skip(c) is None] == ran
    other = Refusals(seed=2)
    other.refused = memo.refused
    assert [c for c in drawn if other.skip(c) is None] != ran


def test_a_feature_accepted_once_is_drawn_as_usual_again():
    memo = Refusals(seed=1)
    for _ in range(LEARN_AFTER):
        memo.learn(refused(TIME_MAJOR))
    memo.learn(differential.verdict(dict(TIME_MAJOR, layer="GRU"), []))  # a pass that used it
    assert all(memo.skip(c) is None for c in cases_using_time_major(50))


def test_an_error_or_an_oracle_error_is_no_acceptance():
    memo = Refusals(seed=1)
    for _ in range(LEARN_AFTER):
        memo.learn(refused(TIME_MAJOR))
    memo.learn(differential.verdict(TIME_MAJOR, [], kind="error", detail="raises"))
    memo.learn(differential.verdict(TIME_MAJOR, [], oracle_error=True))
    assert sum(memo.skip(c) is not None for c in cases_using_time_major(50)) > 25
