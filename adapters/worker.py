"""Execution stage: run a case on one Target inside an isolated, recyclable worker process.

The implementation under test may segfault, abort, hang or eat memory; none of that may end the
campaign. A Worker owns one spawned process (rnnconf.adapters.worker_child) that resolves its Target once and answers
requests (case, fresh) over a pipe with `execute.Session.run`, which reuses built layers across
cases of the same structure; each answer carries the seconds the case took inside.

Requests are pipelined: `submit` (or `submit_all`, several cases in one message) may be called
several times before `collect`, which returns the answers in order, one per case, so the child never
sits idle while the driver compares, logs or draws (a round trip per example cost the drivers 5-9 ms
on 2 cores). The child answers a message's cases in one message too: each message wakes the driver,
which on 2 busy cores takes a core from TF. So the parent learns which case the child is on from a
counter in shared memory (`started`), not from the answers: it times each case from its start, and
when the child dies, hangs or bloats it knows which case did it, and runs the cases that had finished
before it in that message again on a new child, since their answers died with the old one. The
failing case becomes "crash" or "timeout", the requests behind it are answered "lost", and the next
request starts a fresh process.

Memory: a worker clears the framework's session every `CLEAR_EVERY` fresh layers and then hands
freed heap back to the system (gc, malloc_trim). That is not all: tf_keras keeps about 0.1 MB of
native memory per fresh layer that nothing releases. So the parent samples the child's resident
memory and, once it has grown `recycle_growth_mb` above its warm peak, restarts the child at the
next moment nothing is in flight (a TF import, ~4 s). The warm peak is the highest sample between
`warm_answers` and `peak_answers`: a tf_keras worker's memory swings by 60-80 MB as its layer pool
fills and is cleared, so a peak taken from one sample at a low point would make that swing look
like a leak and restart healthy workers every few minutes. A child found past `memory_limit_mb`
while on a case, after answering others, is restarted and what it owed runs again in the new
child: the memory may be what earlier cases left (JAX's compilation caches); only a case past the
limit in a fresh child is a "crash".
"""
import collections
import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import rnnconf
from rnnconf.engine import execute, sampling
from rnnconf.engine.cases import normalize

from .worker_child import CALL, serve
from rnnconf.adapters import targets

# One thread per worker for every math library: workers already fill the cores, and BLAS or TF thread
# pools fighting each other cost far more than they give (a large NumPy LSTM went from 32 ms to 1 s).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
RECYCLE_GROWTH_MB = 32  # resident growth over the warm peak that restarts a worker
WARM_ANSWERS = 4000     # answers before the warm peak is sampled (imports, first layers)
PEAK_ANSWERS = 20000    # the warm peak is the highest sample up to here (~2 minutes of a tf_keras worker)
RSS_EVERY = 64          # answers between samples of the child's resident memory
STARTUP_TIMEOUT_S = 180.0
SAMPLED_TIMEOUTS = 10   # a request of dropout samples may take this many example timeouts at most
_POLL_S = 0.05
# rnnconf's source root: a worker running another interpreter imports rnnconf from here, its
# implementation (and NumPy) from that interpreter's own environment.
# The folder that holds the rnnconf package: a checkout's root, or site-packages.
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(rnnconf.__file__)))
# Starting a child swaps process-wide settings (the spawn executable, sys.path, os.environ): one at a time.
_START_LOCK = threading.Lock()
_DEFAULT_PATHS = {}  # interpreter -> its default sys.path


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class WorkerSetupError(Exception):
    """The target cannot be resolved in the worker (the SetupError's one line)."""


def default_path(python):
    """Another interpreter's own sys.path (asked once, without the caller's PYTHONPATH)."""
    if python not in _DEFAULT_PATHS:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        try:
            done = subprocess.run([python, "-c", "import json, sys; print(json.dumps(sys.path))"], env=env,
                                  capture_output=True, text=True, timeout=60)
            paths = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            paths = None
        if paths is None:
            raise WorkerSetupError(f"cannot run the interpreter {python}")
        _DEFAULT_PATHS[python] = [p for p in paths if p]  # '' (the start directory) is the caller's, not ours
    return _DEFAULT_PATHS[python]


@contextlib.contextmanager
def spawning_with(ctx, python, env):
    """Around Process.start(): the spawn context starts `python` (None: this interpreter) with `env`
    added to the environment. Spawn hands the child the parent's sys.path (its prepare() replaces the
    child's own), so for another interpreter sys.path is, meanwhile, rnnconf's source root, the
    caller's PYTHONPATH and that interpreter's default path: NumPy and the implementation come from
    its environment. Everything is restored afterwards."""
    with _START_LOCK:
        saved_env = {k: os.environ.get(k) for k in env}
        saved_exe, saved_path = None, sys.path
        try:
            if python is not None:
                child_path = ([SOURCE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
                              + default_path(python))
                from multiprocessing import resource_tracker, spawn
                resource_tracker.ensure_running()  # with this interpreter, before the swap
                saved_exe = spawn.get_executable()
                ctx.set_executable(python)
                sys.path = child_path
                hidden_main = _hide_main()
            os.environ.update(env)  # the spawned interpreter must see them before NumPy loads
            yield
        finally:
            if saved_exe is not None:
                _restore_main(hidden_main)
            sys.path = saved_path
            if saved_exe is not None:
                ctx.set_executable(saved_exe)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _hide_main():
    """Spawn re-runs the parent's main module in the child (by its module name, or its path for a
    console script) before the child's own code. In another interpreter that would import rnnconf's
    command line, whose dependencies (Hypothesis, Rich...) the target's environment lacks: while a
    child starts, the main module names neither (as for `python -c`). Returns what to restore."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    return saved


def _restore_main(saved):
    sys.modules["__main__"].__dict__.update(saved)


class Worker:
    """One target in one child process. `run(case)` -> ("ok", outcome, seconds, path, models converted)
    | ("crash"|"timeout", detail);
    `submit(case)` ... `collect()` pipelines requests."""

    def __init__(self, target_name, timeout_s=20.0, memory_limit_mb=4096, stderr_path=None,
                 recycle_growth_mb=RECYCLE_GROWTH_MB, warm_answers=WARM_ANSWERS, peak_answers=PEAK_ANSWERS,
                 rss_every=RSS_EVERY, retry_eager_reuse=True, python=None, env=None, impl=None):
        self.target_name = target_name
        # Another interpreter (a target's own environment, rnnconf.adapters.targets), the implementation name
        # resolved there, and the environment variables it needs; found at start() for a target name.
        self.python, self.extra_env, self.impl = python, dict(env or {}), impl or target_name
        self._located = python is not None
        # The implementation under test is judged on what a reused layer does; only a compiled reuse
        # (the harness's speed-up) is retried fresh. The oracle retries any reuse (see execute.Session).
        self.retry_eager_reuse = retry_eager_reuse
        self.compiles = False
        self.stderr_path = stderr_path
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit_mb * 2 ** 20
        self.recycle_growth = recycle_growth_mb * 2 ** 20
        self.warm_answers, self.peak_answers, self.rss_every = warm_answers, peak_answers, rss_every
        self.recycles = 0
        self._baseline = None
        self._recycle_due = False
        self.versions = {}
        self.available = set()
        self.framework = "other"
        self.hooks = set()      # the protocol's hooks the target has (namespaces.HOOKS)
        self.restarts = 0
        self._process = self._conn = None
        self._ctx = multiprocessing.get_context("spawn")
        self._in_flight = collections.deque()  # (case, fresh) of requests not yet answered
        self._untraced = set()                 # structures whose traced reuse took a child down
        self._ready = collections.deque()      # answers received, older than every request in flight
        self._started = None                   # cases the child has started (shared memory)
        self._watched, self._deadline = 0, 0.0  # the case being timed, and when its time is up

    @property
    def pending(self):
        """Requests submitted and not yet collected."""
        return len(self._in_flight) + len(self._ready)

    # ---- life cycle ------------------------------------------------------------------------------
    def _locate(self):
        """A registered target or IMPL@PYTHON name: its interpreter (creating its environment on first
        use), implementation name and variables."""
        if self._located:
            return
        try:
            remote = targets.remote_spec(self.target_name)
        except targets.TargetError as e:
            raise WorkerSetupError(str(e)) from None
        if remote is not None:
            self.impl, self.python, env = remote
            self.extra_env = {**env, **self.extra_env}
        self._located = True

    def start(self):
        self._locate()
        parent, child = self._ctx.Pipe()
        self._started = self._ctx.RawValue("q", 0)
        env = {**WORKER_ENV, **self.extra_env}
        with spawning_with(self._ctx, self.python, env):
            self._process = self._ctx.Process(target=serve, args=(child, self.impl, env, self.stderr_path,
                                                                  self._started, self.retry_eager_reuse),
                                              daemon=True, name=f"rnnconf-worker-{self.target_name}")
            self._process.start()
        child.close()
        self._conn, self._answered = parent, 0
        self._baseline, self._recycle_due = None, False
        if not parent.poll(STARTUP_TIMEOUT_S):
            self.stop()
            raise WorkerSetupError(f"worker for '{self.target_name}' did not start within {STARTUP_TIMEOUT_S:.0f}s")
        try:
            status, payload = parent.recv()
        except EOFError:
            code = self._process.exitcode
            self.stop()
            raise WorkerSetupError(f"worker for '{self.target_name}' died while starting (exit {code})") from None
        if status == "setup_error":
            self.stop()
            raise WorkerSetupError(payload)
        self.versions, self.available = payload["versions"], set(payload["available"])
        self.compiles = payload.get("compiles", False)
        self.framework = payload.get("framework", "other")
        self.hooks = set(payload.get("hooks", ()))

    def stop(self):
        """End the child; answers still owed are dropped."""
        self._in_flight.clear()
        self._ready.clear()
        self._end_child()

    def _end_child(self):
        if self._process is None:
            self._conn = None
            return
        try:
            if self._process.is_alive() and self._conn is not None:
                try:
                    self._conn.send(None)
                except (OSError, ValueError):
                    pass
                self._process.join(1.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5.0)
        finally:
            if self._conn is not None:
                self._conn.close()
            self._process = self._conn = None

    def _terminate(self):
        """Kill the child; returns the requests it still owed answers to."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self.restarts += 1
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        owed = list(self._in_flight)
        self._in_flight.clear()
        return owed

    # ---- requests and answers (pipelined) --------------------------------------------------------
    def run(self, case, fresh=False):
        """Submit and wait for this case's answer; answers to earlier requests still in flight are
        kept for their own collect()."""
        while self._in_flight:
            self._ready.extend(self._receive())
        self.submit(case, fresh)
        while self._in_flight:
            self._ready.extend(self._receive())
        return self._ready.pop()  # the newest answer: this case's

    def call(self, function, *args):
        """`function(target, *args)` run in the child on its target, for a function of rnnconf's own
        source, sent by reference (its module, name and first line): ("ok", {"value": ...} or
        {"error": describe_error's record}, seconds, "call"), or the failure answer of a child that died
        or hung on it."""
        code = function.__code__
        return self.run({CALL: [function.__module__, code.co_name, code.co_firstlineno], "args": list(args)},
                        fresh=True)

    def submit(self, case, fresh=False):
        """Send a case (on a new layer if `fresh`); its answer comes from a later collect()."""
        self.submit_all([case], fresh)

    def submit_all(self, cases, fresh=False):
        """Send several cases in one message, one pipe write and one wake-up of the child for all of
        them (on 2 busy cores each costs the driver ~0.06 ms); each is answered by its own collect()."""
        if self._process is None or self._conn is None or (self._recycle_due and not self._in_flight):
            if self._process is not None:
                self.recycles += 1
            self._end_child()  # not stop(): answers already received stay for their collect()
            self.start()
        self._send([(case, fresh) for case in cases])

    def _send(self, requests):
        """Send [(case, fresh)] as one message."""
        message = []
        for case, fresh in requests:
            self._in_flight.append((case, fresh))
            trace = not self._untraced or _key(case) not in self._untraced
            message.append((case, fresh, trace))
        try:
            self._conn.send(message)
        except (OSError, ValueError):
            pass  # the child has died: _receive finds out, and which case it died on

    def collect(self):
        """The oldest uncollected answer: ("ok", outcome, seconds, path, models converted), or "crash" /
        "timeout" / "lost" with a detail line."""
        if not self._ready:
            if not self._in_flight:
                raise RuntimeError("collect() without a submitted case")
            self._ready.extend(self._receive())
        return self._ready.popleft()

    def drain(self):
        """Collect and drop every answer still owed (an example stopped early)."""
        while self.pending:
            self.collect()

    def _receive(self):
        """The answers to the oldest requests in flight (one message's worth), or, where the child
        dies, hangs or bloats first, what _died or _fail answers for them."""
        pid = self._process.pid
        self._watch_case(restart=True)
        while True:
            if self._conn.poll(_POLL_S):
                try:
                    answers = self._conn.recv()
                except (EOFError, OSError):
                    return self._died()
                for _ in answers:
                    self._in_flight.popleft()
                before, self._answered = self._answered, self._answered + len(answers)
                if before // self.rss_every != self._answered // self.rss_every:
                    self._watch_growth(pid)
                return answers
            if not self._process.is_alive():
                return self._died()
            failure = self._hung_or_bloated(pid)
            if failure is not None and failure[0] == "crash" and self._answered:
                # Memory the child gathered over the cases it answered before (compilation caches,
                # reused layers) is the harness's, not this case's: what it owes runs again in a
                # fresh child, which decides.
                owed = self._terminate()
                self.start()
                self._send(owed)
                return self._receive()
            if failure is not None:
                return self._fail(failure)

    # ---- failures: a child that hangs, bloats or dies ---------------------------------------------
    def _watch_case(self, restart=False):
        """Time the case the child is on from when it started it (`started` moved, or `restart`)."""
        if restart or self._started.value != self._watched:
            self._watched = self._started.value
            self._deadline = time.monotonic() + self._timeout_of_running()

    def _hung_or_bloated(self, pid):
        """The answer for the case the child is on where the child is past its memory limit or the
        case past its time; None while both hold."""
        self._watch_case()
        if rss_bytes(pid) > self.memory_limit:
            return ("crash", f"{self.target_name}: resident memory above {self.memory_limit // 2 ** 20} MiB; "
                             "worker killed")
        if time.monotonic() > self._deadline:
            return ("timeout", f"{self.target_name}: no result within {self.timeout_s:g}s; worker killed")
        return None

    def _died(self):
        """The answers owed by a child that died: its case is a crash, unless it died running a
        reused, traced layer (see below)."""
        self._process.join(5.0)
        code = self._process.exitcode
        done = self._finished_unanswered()
        case, fresh = self._in_flight[done]
        key = _key(case)
        if not fresh and (self.retry_eager_reuse or (self.compiles and key not in self._untraced)):
            # The child may have died running a reused, traced layer: the harness's speed-up, not the
            # target's behaviour (tf_keras aborts tracing some zero-width stacks it runs eagerly). The
            # case runs again on a fresh layer in a new child, which decides, and its structure is
            # not traced again; the requests around it are sent again.
            self._untraced.add(key)
            owed = self._terminate()
            self.start()
            self._send([(c, f or index == done) for index, (c, f) in enumerate(owed)])
            return self._receive()
        where = "" if fresh else " on a reused layer"
        return self._fail(("crash", f"{self.target_name}: worker process died{where} "
                                    f"(exit code {code}{_signal_name(code)})"))

    def _timeout_of_running(self):
        """The time the case the child is on may take: timeout_s, or for a request of dropout samples
        (execute: `samples` [n, per call, seed]) timeout_s per layer call it makes
        (sampling.sample_calls), up to SAMPLED_TIMEOUTS."""
        index = self._finished_unanswered()
        case = self._in_flight[index][0] if index < len(self._in_flight) else {}
        samples = case.get("samples") if isinstance(case, dict) else None
        calls = sampling.sample_calls(case, samples[0], samples[1]) if samples else 1
        return self.timeout_s * min(calls, SAMPLED_TIMEOUTS)

    def _finished_unanswered(self):
        """How many requests in flight the child finished without answering: those before the one it
        is on in the same message (it answers a message at its end)."""
        return max(0, self._started.value - self._answered - 1)

    def _watch_growth(self, pid):
        if self._answered < self.warm_answers:
            return
        rss = rss_bytes(pid)
        if self._baseline is None or self._answered <= self.peak_answers:
            self._baseline = max(self._baseline or 0, rss)  # the warm peak
        elif rss > self._baseline + self.recycle_growth:
            self._recycle_due = True

    def _fail(self, answer):
        """Kill the child; `answer` is for the request it was on, and those behind it are "lost". The
        requests it had finished before that one in the same message run again on a new child, as
        their answers died with it."""
        done = self._finished_unanswered()
        owed = self._terminate()
        answers = []
        if done:
            self.start()
            self._send(owed[:done])
            while self._in_flight:
                answers.extend(self._receive())
        lost = ("lost", f"{self.target_name}: worker died before this case ran")
        return answers + [answer] + [lost] * (len(owed) - done - 1)


def _key(case):
    """The structure of a case (execute.structure_key); a call request is its own structure."""
    if isinstance(case, dict) and CALL in case:
        return json.dumps(case[CALL])
    return execute.structure_key(normalize(case))


def _signal_name(code):
    if code is None or code >= 0:
        return ""
    try:
        return f", {signal.Signals(-code).name}"
    except ValueError:
        return ""
