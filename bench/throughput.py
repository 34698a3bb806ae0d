"""Fuzzing throughput and memory benchmark. Not a test: run it by hand or from `make bench`.

    python bench/throughput.py [--draws 60] [--variants K] [--workers 1,2] [--campaign 60] [--impl reference]
    python bench/throughput.py --soak 1800       # resident memory over a 30-minute campaign instead

One example stream is drawn once, as the campaign draws it (fuzz.strategies.cases(), each drawn case
run as its data variants on the same built layers, fuzz.differential.variants). Then, in each of
`--rounds` rounds (3), for 1 and 2 workers:
  (a) oracle alone: every example through the oracle's worker process only;
  (b) differential: every example through differential.check_all (oracle and implementation
      workers, pipelined; the shared comparison; clause accounting) plus the campaign's log line.
Printed: examples/s, the ratio b/a, RSS of all worker processes after warm-up and at the end, and
the time per example in each phase (generation; oracle and implementation, as measured inside the
workers; comparison; bookkeeping = the driver's wall time per example beyond the slower worker's
and the comparison: pipes, pickling, logging, idle gaps; pipelining hides most of it), and the CPU
time per example of each process (driver, oracle worker, implementation worker) with the cores kept
busy: near the core count, the run is bound by CPU and only less work per example makes it faster.
At the end: the median rate of each configuration and the two target ratios (differential / oracle
alone; 2 workers / 1), each taken within a round (this VM's speed drifts between runs minutes
apart) and given as the median over the rounds with its range.
`--campaign S` also times real S-second runs of `rnnconf check`, Hypothesis and the stateful
machine included: the mixed campaign the throughput goal is about; with the seconds its drivers
spent shrinking discrepancies (their logs' `shrink_s`) and the rate between shrinks.

`--soak S` runs `rnnconf check --skip-suite --budget S --workers 2` and samples the resident memory
and CPU time of every process of the run each 30 s, by role; the target is growth under 50 MB over
30 minutes. It ends with the cores each role kept busy: what the orchestrator and the drivers take
from the workers.
"""
import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}.items():
    os.environ.setdefault(key, value)


def draw_stream(draws, variants, seed):
    """`draws` cases from the campaign's strategy, each expanded into its seed variants."""
    from hypothesis import HealthCheck, Phase, given, settings

    from rnnconf.fuzz import differential, strategies
    drawn = []

    @settings(max_examples=draws, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategies.cases())
    def collect(case):
        drawn.append(case)

    start = time.perf_counter()
    collect()
    generation = time.perf_counter() - start
    stream = [[v for v in differential.variants(case, variants)] for case in drawn]
    return stream, generation


def _rss_mb(pids):
    from rnnconf.adapters.worker import rss_bytes
    return sum(rss_bytes(pid) for pid in pids) / 2 ** 20


def _cpu_s(pid):
    """CPU seconds (user + system, all threads) process `pid` has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drive(mode, impl, oracle_name, work, queue, started):
    """One benchmark driver (a process, like a campaign driver): its own worker processes, taking
    drawn cases (each with its variants) from the shared `work` queue until it is empty."""
    from rnnconf.fuzz import differential, logs
    from rnnconf.adapters.worker import STARTUP_TIMEOUT_S, Worker
    workers = []
    # TF's start-up lines (and a dying child's last words) go here, as a campaign's go to its workers.log.
    stderr_path = os.path.join(tempfile.gettempdir(), "rnnconf-bench-workers.log")
    try:
        oracle = Worker(oracle_name, timeout_s=60, stderr_path=stderr_path)
        workers.append(oracle)
        oracle.start()
        if mode == "differential":
            impl_worker = Worker(impl, timeout_s=60, stderr_path=stderr_path)
            workers.append(impl_worker)
            impl_worker.start()
        # Every driver's workers are up: none takes work alone while another imports TF.
        started.wait(2 * STARTUP_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - this driver, or another one (a broken barrier), failed to start
        started.abort()  # the other drivers stop waiting too
        for w in workers:
            w.stop()
        queue.put({"error": f"{type(e).__name__}: {e}" if str(e) else type(e).__name__})
        return
    log = tempfile.TemporaryFile("w")
    totals = {"oracle": 0.0, "impl": 0.0, "compare": 0.0, "waited": 0.0}
    n = warm = 0
    rss_start = None
    roles = {"driver": os.getpid(), "oracle": oracle._process.pid}
    if mode == "differential":
        roles["impl"] = impl_worker._process.pid
    cpu_start = {role: _cpu_s(pid) for role, pid in roles.items()}
    start = time.perf_counter()
    for block in iter(work.get, None):
        if mode == "oracle":
            verdicts = _oracle_alone(block, oracle)
        else:
            verdicts = differential.check_all(block, oracle, impl_worker)
        with contextlib.closing(verdicts):
            for index, v in enumerate(verdicts):
                for phase, seconds in v["seconds"].items():
                    totals[phase] += seconds or 0.0
                # Oracle and implementation run at once in their own processes: the driver waits for
                # the slower of the two.
                totals["waited"] += max(v["seconds"].get("oracle") or 0.0, v["seconds"].get("impl") or 0.0)
                n += 1
                if mode == "differential":  # the campaign's own log line (Driver.write)
                    if index == 0:
                        drawn = n
                    log.write(json.dumps(dict(logs.example_record(v, n, index, drawn), t=time.time()),
                                         default=str) + "\n")
                if rss_start is None and n >= 100:  # after warm-up: TF imported, first layers built
                    rss_start, warm = _rss_mb([w._process.pid for w in workers]), time.perf_counter()
                if v["oracle_error"]:
                    break  # the campaign stops a drawn case's variants at an error path too
    wall = time.perf_counter() - start
    cpu = {role: _cpu_s(pid) - cpu_start[role] for role, pid in roles.items()}
    rss_end = _rss_mb([w._process.pid for w in workers])
    for w in workers:
        w.stop()
    queue.put({"n": n, "wall": wall, "totals": totals, "rss_start": rss_start or rss_end, "rss_end": rss_end,
               "since_warm": time.perf_counter() - (warm or start), "cpu": cpu})


def _oracle_alone(cases, oracle):
    """differential.check_all's pipelining with the oracle alone: the same waits, no comparison."""
    from rnnconf.engine.execute import has_error
    from rnnconf.fuzz.differential import submit_until
    submitted = 0
    try:
        for index, case in enumerate(cases):
            end = submit_until(index, submitted, len(cases))
            if end > submitted:
                oracle.submit_all(cases[submitted:end])
                submitted = end
            result = oracle.collect()
            ok = result[0] == "ok"
            yield {"case": case, "seconds": {"oracle": result[2] if ok else 0.0},
                   "oracle_error": not ok or has_error(result[1])}
            if not ok:
                return
    finally:
        oracle.drain()


def measure(mode, impl, oracle, stream, workers):
    ctx = multiprocessing.get_context("spawn")
    queue, work = ctx.Queue(), ctx.Queue()
    # Drawn cases (variants kept together) go to whichever driver is free, as in a campaign; a fixed
    # split left one driver idle while the other finished its share of the costlier cases.
    for block in stream:
        work.put(block)
    for _ in range(workers):
        work.put(None)
    started = ctx.Barrier(workers)
    procs = [ctx.Process(target=_drive, args=(mode, impl, oracle, work, queue, started)) for _ in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    parts = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    errors = sorted({p["error"] for p in parts if "error" in p} - {"BrokenBarrierError"})
    if errors or any("error" in p for p in parts):
        raise SystemExit(f"bench: a driver could not start its workers: {'; '.join(errors) or 'timed out'}")
    # Throughput over the slowest driver's time in its loop (worker start-up, a TF import, excluded).
    wall = max(p["wall"] for p in parts)
    n = sum(p["n"] for p in parts)
    totals = {k: sum(p["totals"][k] for p in parts) for k in ("oracle", "impl", "compare", "waited")}
    busy = sum(p["wall"] for p in parts)
    waited = totals.pop("waited")
    # CPU by role, to tell a saturated machine (cores busy near the core count) from idle waits.
    cpu = {role: sum(p["cpu"].get(role, 0.0) for p in parts) for role in ("driver", "oracle", "impl")}
    return {"mode": mode, "workers": workers, "examples": n, "wall_s": wall, "rate": n / wall,
            "rss_start_mb": sum(p["rss_start"] for p in parts), "rss_end_mb": sum(p["rss_end"] for p in parts),
            "per_example_ms": {**{k: 1000 * v / n for k, v in totals.items()},
                               "bookkeeping": 1000 * (busy - waited - totals["compare"]) / n},
            "cpu_ms_per_example": {k: 1000 * v / n for k, v in cpu.items() if v},
            "cores_busy": sum(cpu.values()) / wall,
            "elapsed_total_s": time.perf_counter() - start}


def _print_row(row, rounds):
    phases = "  ".join(f"{k} {v:.2f}" for k, v in row["per_example_ms"].items())
    cpu = "  ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms_per_example"].items())
    print(f"round {row['round'] + 1}/{rounds}, {row['workers']} worker(s), {row['mode']}: {row['examples']} examples, "
          f"{row['rate']:.1f} examples/s, RSS {row['rss_start_mb']:.0f} -> {row['rss_end_mb']:.0f} MB\n"
          f"    ms/example: {phases}\n    CPU ms/example by process: {cpu}  "
          f"(cores busy {row['cores_busy']:.2f} of {os.cpu_count()})", flush=True)


SCALING = "scaling, differential 2 / 1 worker(s)"


def summarize(rows):
    """Median rate per configuration, and the issue's two ratios (differential / oracle alone at each
    worker count; 2 workers / 1 worker, differential), each computed within a round and then given as
    the median over rounds with its range."""
    rates = {}
    for row in rows:
        rates.setdefault((row["mode"], row["workers"]), {})[row["round"]] = row["rate"]

    def paired(numerator, denominator):
        top, bottom = rates.get(numerator, {}), rates.get(denominator, {})
        values = [top[r] / bottom[r] for r in sorted(top) if r in bottom]
        if not values:
            return None
        return {"median": statistics.median(values), "min": min(values), "max": max(values), "rounds": values}

    summary = {"rates": {f"{mode}, {workers} worker(s)": statistics.median(by_round.values())
                         for (mode, workers), by_round in sorted(rates.items(), key=lambda kv: kv[0][::-1])}}
    for workers in sorted({w for _, w in rates}):
        summary[f"differential / oracle alone, {workers} worker(s)"] = paired(("differential", workers), ("oracle", workers))
    summary[SCALING] = paired(("differential", 2), ("differential", 1))
    return summary


def campaign_rate(impl, workers, seconds, variants):
    out = tempfile.mkdtemp(prefix="rnnconf-bench-")
    subprocess.run([sys.executable, "-m", "rnnconf.cli", "check", "--impl", impl, "--skip-suite", "--no-progress",
                    "--budget", str(seconds), "--workers", str(workers), "--seed", "1", "--variants", str(variants),
                    "--out", out], cwd=ROOT, capture_output=True, text=True)
    results = json.loads((Path(out) / "results.json").read_text())
    results["shrink_s"] = shrink_seconds(out)
    return results["examples"] / max(results["elapsed_s"], 1e-9), results


def shrink_seconds(out):
    """Seconds each driver of the campaign in `out` spent shrinking (its logs' discrepancy records, and
    its occurrences of failures that shrank into a known discrepancy), by log file."""
    from rnnconf.fuzz import logs
    return {os.path.basename(path): sum(r.get("shrink_s", 0.0) for r in logs.read_log(path)
                                        if r["type"] in ("discrepancy", "occurrence"))
            for path in logs.log_paths(out)}


def between_shrinks(results, workers):
    """Examples/s of the campaign with its drivers' shrinking time taken out."""
    fuzzing = max(results["elapsed_s"] * workers - sum(results["shrink_s"].values()), 1e-9)
    return results["examples"] * workers / fuzzing


def soak(impl, seconds, variants, json_path=None):
    """Run a real campaign and sample the resident memory of its whole process tree every 30 s, by
    role: the main process, the drivers, the workers (oracle and implementation). `json_path` gets
    every sample with each process's own RSS too, to tell which one grows."""
    from rnnconf.adapters.worker import rss_bytes
    out = tempfile.mkdtemp(prefix="rnnconf-soak-")
    proc = subprocess.Popen([sys.executable, "-m", "rnnconf.cli", "check", "--impl", impl, "--skip-suite",
                             "--no-progress", "--budget", str(seconds), "--workers", "2", "--seed", "2",
                             "--variants", str(variants), "--out", out], cwd=ROOT)
    samples = []
    start = time.time()
    while proc.poll() is None:
        time.sleep(30)
        if proc.poll() is not None:
            break  # ended during the wait: nothing left to sample
        roles = {"main": 0.0, "drivers": 0.0, "workers": 0.0}
        processes = {}
        for pid, depth in _tree(proc.pid):
            role = ("main", "drivers", "workers")[min(depth, 2)]
            mb = rss_bytes(pid) / 2 ** 20
            roles[role] += mb
            processes[str(pid)] = {"role": role, "rss": round(mb, 1), "cpu": _cpu_s(pid)}
        sample = {"t": round(time.time() - start), "total": round(sum(roles.values()), 1),
                  **{k: round(v, 1) for k, v in roles.items()}, "processes": processes}
        samples.append(sample)
        print(f"  t={sample['t']:5d}s  rss={sample['total']:8.1f} MB  (main {sample['main']:.0f}, "
              f"drivers {sample['drivers']:.0f}, workers {sample['workers']:.0f})", flush=True)
        if json_path:  # rewritten each sample: a killed soak keeps what it measured
            Path(json_path).write_text(json.dumps({"samples": samples, "out": out}))
    results = json.loads((Path(out) / "results.json").read_text())
    growth = memory_growth(samples)
    cores = cores_by_role(samples)
    print("cores busy by role (CPU seconds seen between samples / seconds): "
          + ", ".join(f"{role} {value:.2f}" for role, value in cores.items()))
    print(f"soak: {results['examples']} examples in {results['elapsed_s']:.0f}s "
          f"({results['examples'] / max(results['elapsed_s'], 1):.0f}/s), RSS after warm-up "
          f"{growth['first']:.0f} -> {growth['last']:.0f} MB; growth: trend {growth['trend']:+.1f} MB over the run, "
          f"peaks {growth['peaks']:+.1f} MB, last - first {growth['last'] - growth['first']:+.1f} MB (target < 50 MB)")
    if json_path:
        Path(json_path).write_text(json.dumps({"samples": samples, "out": out, "growth": growth, "cores": cores,
                                               "examples": results["examples"], "elapsed_s": results["elapsed_s"]}))
    return samples, growth


def memory_growth(samples, settle_s=120):
    """Growth of the total resident memory after `settle_s` (imports, first traces and the layer pools
    fill up first), three ways, since workers restarting make it a sawtooth: the least-squares trend
    over the run, the highest sample of the last third against that of the first third, and last - first."""
    settled = [s for s in samples if s["t"] >= settle_s] or samples
    ts, ys = [s["t"] for s in settled], [s["total"] for s in settled]
    n = len(ts)
    mean_t, mean_y = sum(ts) / n, sum(ys) / n
    var = sum((t - mean_t) ** 2 for t in ts)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys)) / var if var else 0.0
    third = max(1, n // 3)
    return {"first": ys[0], "last": ys[-1], "trend": slope * (ts[-1] - ts[0]),
            "peaks": max(ys[-third:]) - max(ys[:third])}


def cores_by_role(samples):
    """How many cores each role kept busy on average: each process's CPU time between the first and
    the last sample it appears in, summed by role, over the time the samples span. A worker that
    restarted between two samples loses the CPU of its last 30 s, so this slightly undercounts."""
    seen = {}
    for sample in samples:
        for pid, proc in sample["processes"].items():
            if "cpu" in proc:
                first = seen.setdefault(pid, {"role": proc["role"], "first": proc["cpu"]})
                first["last"] = proc["cpu"]
    span = samples[-1]["t"] - samples[0]["t"] if len(samples) > 1 else 0
    cores = {"main": 0.0, "drivers": 0.0, "workers": 0.0}
    for proc in seen.values():
        cores[proc["role"]] += (proc["last"] - proc["first"]) / span if span else 0.0
    return cores


def _tree(pid):
    """(pid, depth) of `pid` and its descendants."""
    found, frontier = [], [(pid, 0)]
    while frontier:
        parent, depth = frontier.pop()
        found.append((parent, depth))
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        frontier.extend((int(child), depth + 1) for child in children)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default="reference")
    parser.add_argument("--oracle", default="tf_keras")
    parser.add_argument("--draws", type=int, default=60, help="drawn cases in the stream")
    parser.add_argument("--variants", type=int, default=None, help="seed variants per drawn case (default: the campaign's)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rounds", type=int, default=3, help="times each configuration runs, interleaved")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--campaign", type=float, default=0, metavar="S", help="also time a real S-second campaign")
    parser.add_argument("--soak", type=float, default=0, metavar="S", help="only the memory soak, S seconds")
    parser.add_argument("--json", metavar="FILE", help="write the measurements here too")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.variants is None:
        from rnnconf.fuzz import driver
        args.variants = driver.VARIANTS
    if args.soak:
        soak(args.impl, args.soak, args.variants, args.json)
        return 0
    stream, generation = draw_stream(args.draws, args.variants, args.seed)
    n_examples = sum(len(b) for b in stream)
    print(f"stream: {args.draws} drawn cases x {args.variants} variants = {n_examples} examples "
          f"(generation {1000 * generation / n_examples:.3f} ms per example)")
    rows = []
    worker_counts = [int(w) for w in args.workers.split(",")]
    # Rounds interleave the configurations: this VM's speed drifts (the oracle's time per example moved
    # 9.3 -> 11.5 ms between runs of one stream), so ratios are paired within a round, not across runs.
    for round_index in range(args.rounds):
        for workers in worker_counts:
            for mode in ("oracle", "differential"):
                row = dict(measure(mode, args.impl, args.oracle, stream, workers), round=round_index)
                rows.append(row)
                _print_row(row, args.rounds)
    summary = summarize(rows)
    print(f"\nmedians over {args.rounds} round(s), ratios paired within each round (range in brackets):")
    for key, rate in summary["rates"].items():
        print(f"  {key:42s} {rate:7.1f} examples/s")
    for key, r in summary.items():
        if key != "rates" and r:
            target = "1.7" if key == SCALING else "0.8"
            print(f"  {key:42s} {r['median']:7.2f}  [{r['min']:.2f}-{r['max']:.2f}]  (target >= {target})")
    if args.campaign:
        for workers in [int(w) for w in args.workers.split(",")]:
            rate, results = campaign_rate(args.impl, workers, args.campaign, args.variants)
            shrinking = sum(results["shrink_s"].values())
            print(f"real campaign, {workers} worker(s), {args.campaign:.0f}s: {results['examples']} examples, "
                  f"{rate:.1f} examples/s, {len(results['discrepancies'])} discrepancies; drivers shrinking "
                  f"{shrinking:.0f}s of {results['elapsed_s'] * workers:.0f}s, "
                  f"{between_shrinks(results, workers):.1f} examples/s between shrinks")
            rows.append({"mode": "campaign", "workers": workers, "rate": rate, "examples": results["examples"],
                         "shrink_s": shrinking, "between_shrinks": between_shrinks(results, workers)})
    if args.json:
        Path(args.json).write_text(json.dumps({"generation_ms": 1000 * generation / n_examples, "rows": rows,
                                               "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
