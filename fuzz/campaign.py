"""The fuzzing campaign: drivers in processes, stopped at the deadline, their logs followed.

Layout of a campaign directory DIR:
  campaign.json        seed, impl, oracle, first start: what a resumed run must agree with
  log-K-N-wW.jsonl     one append-only log per driver (fuzz.logs)
  hypothesis/          Hypothesis's example databases: failures found once are replayed first
  results.json, repro/ derived from the logs (fuzz.logs.aggregate; rewritten while the run goes on)

`driver_specs` splits a shard's examples between the drivers (fuzz.driver); `run_drivers` starts
them, calls back while they run (progress, results.json), and stops them at the deadline, on
--fail-fast's first discrepancy, or when asked. A re-run with the same DIR reads the logs back and
resumes where it stopped.
"""
import multiprocessing
import os
import time

from .budgets import VARIANTS, shrink_budget
from .driver import drive
from .logs import LogTail


def share(total, index, parts):
    """The `index`-th (0-based) of `parts` near-equal shares of `total`."""
    if total is None:
        return None
    return total // parts + (1 if index < total % parts else 0)


def driver_specs(*, impl, oracle, out, seed, shard, workers, max_examples, deadline, fail_fast, xfail,
                 timeout_s, shrink_budget_s=None, memory_mb=4096,
                 variants=VARIANTS, fixed_weights=False, known=None):
    """One spec per driver: shard K of N is split again between the `workers` drivers. With
    `fixed_weights` a drawn case's data variants keep its weights (differential.variant). Without
    `shrink_budget_s`, each discrepancy is shrunk for driver.shrink_budget of the time to the deadline.
    `known`: the path of the implementation's known-differences file (rnnconf.engine.known_differences)."""
    k, n = shard
    if shrink_budget_s is None:
        shrink_budget_s = shrink_budget(deadline - time.time() if deadline is not None else None)
    specs = []
    for w in range(1, workers + 1):
        specs.append(dict(impl=impl, oracle=oracle, out=out, log=os.path.join(out, f"log-{k}-{n}-w{w}.jsonl"),
                          seed=seed, shard=(k, n), driver=(w, workers),
                          max_examples=share(max_examples, (k - 1) * workers + (w - 1), n * workers),
                          deadline=deadline, fail_fast=fail_fast, xfail=list(xfail), timeout_s=timeout_s,
                          shrink_budget_s=shrink_budget_s, memory_mb=memory_mb,
                          variants=variants, fixed_weights=fixed_weights, known=known))
    return specs


def run_drivers(specs, on_tick=None, tick_s=0.5, grace_s=None, tail=None, stop=None):
    """Start the drivers, call `on_tick(tail)` while they run, stop them at the deadline (plus grace),
    with fail_fast once one logged a discrepancy, or once `stop()` is true. Returns the final
    LogTail; its `driver_failures` say which drivers ended on an error of their own."""
    ctx = multiprocessing.get_context("spawn")
    out, deadline = specs[0]["out"], specs[0]["deadline"]
    xfail = specs[0]["xfail"]
    grace_s = grace_s if grace_s is not None else specs[0]["timeout_s"] + 15
    tail = tail or LogTail(out)
    already = tail.poll(xfail).failing  # a resumed run's earlier discrepancies do not stop it
    processes = []
    for spec in specs:
        p = ctx.Process(target=drive, args=(spec,), name=f"rnnconf-driver-{spec['driver'][0]}")
        p.start()
        processes.append(p)
    try:
        while any(p.is_alive() for p in processes):
            time.sleep(tick_s)
            tail.poll(xfail)
            if on_tick:
                on_tick(tail)
            if specs[0]["fail_fast"] and tail.failing > already:
                deadline = min(deadline, time.time() + 2.0)  # let the others finish their line
            if time.time() > deadline + grace_s or (stop is not None and stop()):
                break
    finally:
        ended = [p.exitcode for p in processes]  # None: still running, so stopped here
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join(5)
    tail.poll(xfail)
    tail.driver_failures = [f"driver {spec['driver'][0]} exited with status {code} (see {spec['log']})"
                            for spec, code in zip(specs, ended) if code not in (None, 0)]
    return tail
