"""fuzz.refusals: a feature the implementation always refused is mostly not run again, and counted."""
import time

from hypothesis import given, settings

from rnnconf.engine.capabilities import features_used
from rnnconf.fuzz import campaign, differential, driver, logs, machine
from rnnconf.fuzz.refusals import LEARN_AFTER, SAMPLE, Refusals

TIME_MAJOR = {"cells": [{"kind": "gru", "units": 2}], "flags": {"time_major": True}}
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


def test_a_skip_of_what_features_describe_counts_its_drawn_cases():
    memo = Refusals(seed=1)
    for _ in range(LEARN_AFTER):
        memo.learn(refused({"cells": [{"kind": "gru", "units": 2}], "flags": {"stateful": True}}, "batch_input_shape"))
    skips = [memo.skip_features(("stateful", "batch_input_shape"), f"round {r}", count=8) for r in range(100)]
    assert set(skips) == {None, "batch_input_shape"}
    assert memo.take_skipped() == {"batch_input_shape": 8 * sum(s is not None for s in skips)}


@settings(settings.get_profile("rnnconf-ci"), max_examples=20)
@given(machine.stateful_bases())
def test_every_machine_uses_the_features_the_machine_declares(case):
    names, ctor_args, call_args = features_used(case)
    assert set(machine.FEATURES) <= names | ctor_args | call_args


def test_machine_rounds_are_mostly_skipped_once_the_implementation_always_refused_stateful_layers(
        tmp_path, monkeypatch):
    def modes(learned):
        out = tmp_path / str(learned)
        out.mkdir()
        (spec,) = campaign.driver_specs(impl="reference", oracle="reference", out=str(out), seed=1, shard=(1, 1),
                                        workers=1, max_examples=400, deadline=time.time() + 600, fail_fast=False,
                                        xfail=(), timeout_s=60)
        loop = driver.Driver(spec)
        if learned:
            loop.refusals.refused["stateful"] = LEARN_AFTER
        seen = []

        def one_round(mode):  # stands in for Hypothesis: each round one example
            seen.append(mode)
            loop.examples += 1
            loop._log_skipped()
        monkeypatch.setattr(loop, "_run_round", one_round)
        loop.run()
        return seen, logs.LogTail(str(out)).poll().skipped
    usual, nothing = modes(learned=False)
    assert usual.count("stateful") == 400 // driver.STATEFUL_EVERY and not nothing
    sampled, skipped = modes(learned=True)
    machine_rounds = sampled.count("stateful")
    assert 0 < machine_rounds < 2 * 100 / SAMPLE
    assert skipped == {"stateful": (100 - machine_rounds) * driver.MACHINES_PER_ROUND}
