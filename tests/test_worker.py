"""rnnconf.adapters.worker.Worker: pipelined requests (several to a message too) answered in order, and a dying
child's queue answered too."""
import importlib.util
import sys

import pytest

from rnnconf.engine import execute
from rnnconf.adapters.worker import Worker, rss_bytes

CASE = {"cells": [{"kind": "simple", "units": 2}], "batch": 2, "timesteps": 3}
ABORTS = dict(CASE, flags={"go_backwards": True})  # fuzz_targets.aborts calls os.abort() on it


@pytest.fixture
def worker():
    w = Worker("fuzz_targets.aborts", timeout_s=30)
    yield w
    w.stop()


def _first_output(answer):
    assert answer[0] == "ok", answer
    return answer[1]["steps"][0]["result"]


def test_pipelined_answers_come_back_in_order(worker):
    expected = [execute.run(_reference(), dict(CASE, seed=s))["steps"][0]["result"] for s in range(5)]
    for s in range(5):
        worker.submit(dict(CASE, seed=s))
    assert worker.pending == 5
    for s in range(5):
        assert (_first_output(worker.collect()) == expected[s]).all()
    assert worker.pending == 0
    with pytest.raises(RuntimeError):
        worker.collect()


def test_run_keeps_the_answers_of_earlier_requests(worker):
    worker.submit(dict(CASE, seed=1))
    worker.submit(dict(CASE, seed=2))
    alone = worker.run(dict(CASE, seed=3))
    assert worker.pending == 2
    firsts = [_first_output(worker.collect()), _first_output(worker.collect())]
    reference = _reference()
    for seed, output in zip((1, 2, 3), firsts + [_first_output(alone)]):
        assert (output == execute.run(reference, dict(CASE, seed=seed))["steps"][0]["result"]).all()


def test_a_crash_answers_the_case_and_loses_the_ones_queued_behind_it(worker):
    worker.submit(dict(CASE, seed=1))
    worker.submit(ABORTS)
    worker.submit(dict(CASE, seed=2))
    worker.submit(dict(CASE, seed=3))
    assert worker.collect()[0] == "ok"
    crash = worker.collect()
    assert crash[0] == "crash" and "SIGABRT" in crash[1]
    assert [worker.collect()[0] for _ in range(2)] == ["lost", "lost"]
    # Two restarts: the case is first run again on a fresh layer (a reused layer might have been the
    # cause, see the next test), and that dies too.
    assert worker.pending == 0 and worker.restarts == 2
    assert worker.run(dict(CASE, seed=4))[0] == "ok"  # a fresh child takes the next case


def test_a_child_dead_before_the_next_request_is_sent_answers_for_what_it_was_on(worker):
    assert worker.run(dict(CASE, seed=0))[0] == "ok"
    worker.submit(ABORTS)
    worker._process.join(30)  # it dies on ABORTS before the next requests are written to its pipe
    worker.submit(dict(CASE, seed=2))  # a broken pipe
    worker.submit(dict(CASE, seed=3))
    answers = [worker.collect() for _ in range(3)]
    assert [a[0] for a in answers] == ["crash", "lost", "lost"] and "SIGABRT" in answers[0][1]
    assert worker.run(dict(CASE, seed=4))[0] == "ok"


def test_cases_sent_in_one_message_are_answered_one_by_one(worker):
    expected = [execute.run(_reference(), dict(CASE, seed=s))["steps"][0]["result"] for s in range(5)]
    worker.submit_all([dict(CASE, seed=s) for s in range(3)])
    worker.submit_all([dict(CASE, seed=s) for s in (3, 4)])
    assert worker.pending == 5
    for s in range(5):
        assert (_first_output(worker.collect()) == expected[s]).all()


def test_a_crash_inside_a_message_answers_that_case_and_loses_the_rest(worker):
    worker.submit_all([dict(CASE, seed=1), ABORTS, dict(CASE, seed=2)])
    worker.submit(dict(CASE, seed=3))
    # The child answers a message at its end: seed 1's answer died with it and was run again.
    expected = execute.run(_reference(), dict(CASE, seed=1))["steps"][0]["result"]
    assert (_first_output(worker.collect()) == expected).all()
    crash = worker.collect()
    assert crash[0] == "crash" and "SIGABRT" in crash[1]
    assert [worker.collect()[0] for _ in range(2)] == ["lost", "lost"]
    assert worker.run(dict(CASE, seed=4))[0] == "ok"


def test_each_case_of_a_message_has_the_whole_timeout_from_its_own_start():
    worker = Worker("fuzz_targets.slow", timeout_s=1.5)  # 0.5 s per case: 2 s for the message
    try:
        worker.submit_all([dict(CASE, seed=s, flags={"time_major": True}) for s in range(4)])
        assert [worker.collect()[0] for _ in range(4)] == ["ok"] * 4
        assert worker.restarts == 0
    finally:
        worker.stop()


def test_a_hang_inside_a_message_times_out_that_case_and_keeps_the_answers_before_it():
    worker = Worker("fuzz_targets.hangs", timeout_s=1)
    try:
        hangs = dict(CASE, flags={"unroll": True})
        worker.submit_all([dict(CASE, seed=1), hangs, dict(CASE, seed=2)])
        expected = execute.run(_reference(), dict(CASE, seed=1))["steps"][0]["result"]
        assert (_first_output(worker.collect()) == expected).all()
        timeout = worker.collect()
        assert timeout[0] == "timeout" and "no result within 1s" in timeout[1]
        assert worker.collect()[0] == "lost" and worker.pending == 0
    finally:
        worker.stop()


def test_the_schedule_sends_the_first_case_alone_then_batches_ahead_of_collection():
    from rnnconf.fuzz.differential import submit_until
    total, depth, batch = 30, 4, 4
    submitted, messages = 0, []
    for index in range(total):
        end = submit_until(index, submitted, total, depth, batch)
        if end > submitted:
            messages.append(end - submitted)
            submitted = end
        assert submitted > index  # a case is sent before it is collected
        if index:  # the worker has `depth` cases queued, this one included
            assert submitted - index >= min(depth, total - index)
    assert messages[0] == 1 and set(messages[2:-1]) == {batch} and submitted == total


@pytest.mark.parametrize("says_when_it_stops", [True, False])
def test_check_all_sends_no_case_the_caller_said_it_will_not_judge(worker, says_when_it_stops):
    from rnnconf.fuzz import differential
    impl = Worker("reference", timeout_s=30)
    sent = []
    submit_all = worker.submit_all
    worker.submit_all = lambda cases, fresh=False: (sent.extend(cases), submit_all(cases, fresh))
    judged = []
    # The caller stops after its 20th verdict; from its 3rd verdict on it knows that and says so (as the
    # campaign does once a structure proves untraceable).
    wanted = (lambda: 20 - len(judged) if len(judged) >= 2 else None) if says_when_it_stops else None
    try:
        verdicts = differential.check_all([dict(CASE, seed=s) for s in range(40)], worker, impl, wanted=wanted)
        for v in verdicts:
            judged.append(v)
            if len(judged) == 20:
                verdicts.close()
        assert len(judged) == 20 and all(v["ok"] for v in judged)
        assert worker.pending == impl.pending == 0
        # Without being told, the look-ahead has sent cases that are run only to be drained.
        assert len(sent) == 20 if says_when_it_stops else len(sent) >= 20 + differential.PIPELINE_DEPTH - 1
    finally:
        impl.stop()


def test_drain_drops_what_is_owed(worker):
    for s in range(3):
        worker.submit(dict(CASE, seed=s))
    worker.drain()
    assert worker.pending == 0
    assert _first_output(worker.run(dict(CASE, seed=7))) is not None


def _reference():
    from rnnconf.adapters import namespaces
    return namespaces.resolve("reference")


def test_a_child_whose_memory_keeps_growing_is_restarted_between_cases():
    worker = Worker("fuzz_targets.leaks", timeout_s=30, recycle_growth_mb=20, warm_answers=4, peak_answers=8,
                    rss_every=2)
    try:
        leaking = dict(CASE, flags={"return_state": True})
        for seed in range(40):  # 4 MiB kept per case: 160 MiB without restarts
            assert worker.run(dict(leaking, seed=seed))[0] == "ok"
        assert worker.recycles >= 2 and worker.restarts == 0
    finally:
        worker.stop()


def test_memory_gathered_over_earlier_cases_is_no_crash_of_the_case_that_passes_the_limit():
    """A child past its memory limit after answering other cases runs what it owes again in a fresh
    child: only a case that passes the limit on its own is a crash. fuzz_targets.bloats keeps 512
    MiB per layer call (1 GiB a case): the second case passes a limit of 1.5 GiB above the child's
    start, the first one alone does not."""
    worker = Worker("fuzz_targets.bloats", timeout_s=30, recycle_growth_mb=10 ** 6)  # no recycling
    try:
        hoarding = dict(CASE, flags={"return_state": True})
        assert worker.run(dict(CASE, seed=0))[0] == "ok"
        worker.memory_limit = rss_bytes(worker._process.pid) + 1536 * 2 ** 20
        assert worker.run(dict(hoarding, seed=1))[0] == "ok"
        assert worker.run(dict(hoarding, seed=2))[0] == "ok" and worker.restarts == 1
        # On its own past the limit: a crash.
        worker.memory_limit = 600 * 2 ** 20
        answer = worker.run(dict(hoarding, seed=3))
        assert answer[0] == "crash" and "resident memory" in answer[1], answer
    finally:
        worker.stop()


def test_a_child_whose_memory_swings_without_growing_is_not_restarted():
    # 40 MiB up and down every 10 cases; the warm peak is taken over answers 4-24, two full swings.
    worker = Worker("fuzz_targets.swings", timeout_s=30, recycle_growth_mb=20, warm_answers=4, peak_answers=24,
                    rss_every=1)
    try:
        swinging = dict(CASE, flags={"return_state": True})
        for seed in range(60):
            assert worker.run(dict(swinging, seed=seed))[0] == "ok"
        assert worker.recycles == 0 and worker.restarts == 0
        # One sample taken low in the swing (the former baseline) would have restarted it. (Taken at the
        # 4th answer it sat exactly 20 MiB below the swing's top, and whether allocator noise tipped it
        # over depended on what else the test process had imported: the 1st answer is 12 MiB lower.)
        worker.stop()
        worker = Worker("fuzz_targets.swings", timeout_s=30, recycle_growth_mb=20, warm_answers=1, peak_answers=1,
                        rss_every=1)
        for seed in range(60):
            assert worker.run(dict(swinging, seed=seed))[0] == "ok"
        assert worker.recycles >= 1
    finally:
        worker.stop()


def test_a_child_that_does_not_grow_is_not_restarted(worker):
    worker.rss_every, worker.warm_answers, worker.peak_answers = 2, 4, 8
    for seed in range(30):
        assert worker.run(dict(CASE, seed=seed))[0] == "ok"
    assert worker.recycles == 0


def test_a_child_killed_by_a_traced_reuse_is_retried_fresh_and_that_structure_left_untraced():
    worker = Worker("fuzz_targets.aborts_when_traced", timeout_s=30)
    try:
        backwards = dict(CASE, flags={"go_backwards": True})
        expected = [execute.run(_reference(), dict(backwards, seed=s))["steps"][0]["result"] for s in range(4)]
        assert (_first_output(worker.run(dict(backwards, seed=0))) == expected[0]).all()  # fresh: eager
        for s in (1, 2, 3):  # reused: traced (dies, retried fresh), then reused eagerly
            worker.submit(dict(backwards, seed=s))
        answers = [worker.collect() for _ in range(3)]
        for s, answer in zip((1, 2, 3), answers):
            assert (_first_output(answer) == expected[s]).all()
        assert [a[3] for a in answers] == ["fresh", "untraceable", "untraceable"]
        assert worker.restarts == 1
    finally:
        worker.stop()


def test_run_answers_its_own_case_when_the_child_dies_on_it(worker):
    """run() keeps the answers of earlier requests aside; a crash on its own case must not hand one
    of those back instead (the float64 recheck runs this way while variants are in flight)."""
    worker.submit(dict(CASE, seed=1))
    worker.submit(dict(CASE, seed=2))
    crash = worker.run(ABORTS)
    assert crash[0] == "crash" and "SIGABRT" in crash[1]
    assert [worker.collect()[0] for _ in range(2)] == ["ok", "ok"]


def test_a_request_of_dropout_samples_gets_a_timeout_per_call_it_makes():
    """A stochastic case is sent as `samples` [n, per call, seed]: its deadline is timeout_s per call
    (n / per call batches, each running every step of the case), capped at SAMPLED_TIMEOUTS; any other
    case keeps timeout_s."""
    import multiprocessing

    from rnnconf.adapters.worker import SAMPLED_TIMEOUTS
    worker = Worker("reference", timeout_s=2.0)
    worker._started = multiprocessing.get_context("spawn").RawValue("q", 0)
    worker._answered = 0
    worker._in_flight.append(({"samples": [400, 400, 1]}, False))
    assert worker._timeout_of_running() == 2.0
    worker._in_flight[0] = ({"samples": [400, 100, 1]}, False)
    assert worker._timeout_of_running() == 8.0
    worker._in_flight[0] = ({"samples": [400, 8, 1]}, False)
    assert worker._timeout_of_running() == 2.0 * SAMPLED_TIMEOUTS
    steps = [{"op": "call"}, {"op": "reset_states"}, {"op": "call"}]
    worker._in_flight[0] = ({"samples": [400, 400, 1], "steps": steps}, False)
    assert worker._timeout_of_running() == 6.0, "each batch of samples runs every step of the case"
    steps = [{"op": "call"}, {"op": "reset", "states": "random"}, {"op": "call"}]
    worker._in_flight[0] = ({"samples": [400, 400, 1], "steps": steps}, False)
    assert worker._timeout_of_running() == 2.0 * SAMPLED_TIMEOUTS, "a reset to given states samples one at a time"
    worker._in_flight[0] = ({"cells": [{"kind": "simple", "units": 2}]}, False)
    assert worker._timeout_of_running() == 2.0


def _check_counting_fresh_reruns(impl_name, case, count):
    """The verdicts of `count` data variants of `case` (reference oracle) and how many times the
    implementation's worker was asked to run a variant again on a fresh layer."""
    from rnnconf.fuzz import differential
    oracle, impl = Worker("reference", timeout_s=30), Worker(impl_name, timeout_s=30, retry_eager_reuse=False)
    reruns = []
    run = impl.run
    impl.run = lambda c, fresh=False: (reruns.append(fresh), run(c, fresh))[1]
    try:
        verdicts = list(differential.check_all(differential.variants(case, count), oracle, impl))
    finally:
        oracle.stop()
        impl.stop()
    return verdicts, reruns


def test_a_failure_a_fresh_layer_showed_is_not_rerun_fresh_for_every_variant():
    case = dict(CASE, flags={"go_backwards": True, "return_sequences": True})
    verdicts, reruns = _check_counting_fresh_reruns("fuzz_targets.backwards_not_reversed", case, 6)
    assert [v["kind"] for v in verdicts] == ["value"] * 6
    assert [v["paths"]["impl"] for v in verdicts] == ["fresh"] + ["reused"] * 5
    assert len({str(v["fingerprint"]) for v in verdicts}) == 1 and reruns == []


def test_a_failure_seen_only_on_reused_layers_is_rerun_fresh_each_time():
    mask = [[1, 1, 1], [1, 0, 0]]
    verdicts, reruns = _check_counting_fresh_reruns("fuzz_targets.mask_cached_at_build", dict(CASE, mask=mask), 6)
    failing = [v for v in verdicts if v["kind"] is not None]
    assert verdicts[0]["ok"] and failing  # the fresh layer is right, some reused ones are not
    # Each failure was run again fresh (passing there), and kept with what the layer ran before.
    assert reruns == [True] * len(failing) and all(v["case"].get("warmup") for v in failing)


def test_a_child_in_another_interpreter_does_not_rerun_rnnconfs_main(monkeypatch):
    """Spawn re-runs the parent's main module in the child; a target's environment lacks the command
    line's dependencies, so while a child of another interpreter starts, main names no module or file."""
    import multiprocessing
    from multiprocessing import spawn
    from rnnconf.adapters.worker import spawning_with
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__spec__", importlib.util.find_spec("rnnconf.cli"), raising=False)
    monkeypatch.setattr(main, "__file__", "/somewhere/rnnconf/cli.py", raising=False)
    assert spawn.get_preparation_data("w")["init_main_from_name"] == "rnnconf.cli"
    with spawning_with(multiprocessing.get_context("spawn"), sys.executable, {}):
        data = spawn.get_preparation_data("w")
        assert "init_main_from_name" not in data and "init_main_from_path" not in data
    assert main.__spec__.name == "rnnconf.cli" and main.__file__ == "/somewhere/rnnconf/cli.py"
