"""Execution stage: run a case on one Target inside an isolated, recyclable worker process.

The implementation under test may segfault, abort, hang or eat memory; none of that may end the
campaign. A Worker owns one spawned process that resolves its Target once and then answers
requests (case, fresh) over a pipe with `execute.Session.run`, which reuses built layers across
cases of the same structure (issue 6); each answer carries the seconds the case took inside. The parent waits with a per-example timeout and
watches the child's resident memory; a dead child becomes a "crash" result, a slow or bloated one
is killed and becomes "timeout" / "crash", and the next request starts a fresh process.

Workers are recycled every `recycle_every` examples and clear the framework's session every
`CLEAR_EVERY` layers, so memory stays flat over long campaigns.
"""
import multiprocessing
import os
import time

# One thread per worker for every math library: workers already fill the cores, and BLAS or TF thread
# pools fighting each other cost far more than they give (a large NumPy LSTM went from 32 ms to 1 s).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
CLEAR_EVERY = 100  # fresh layers between framework clear_session() calls (in execute.Session)
STARTUP_TIMEOUT_S = 180.0
_POLL_S = 0.05


def _serve(conn, target_name, env, stderr_path=None):
    """Child process: resolve the target, then run cases until told to stop."""
    os.environ.update(env)
    if stderr_path:
        # Framework start-up chatter and a dying child's last words go to a file, not the progress bar.
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    import logging
    import warnings
    # TF's Python logger reports unused TensorArrays of failing calls as ERRORs; NumPy warns about
    # the overflow of diverging cases. Both are expected in a fuzzer and would drown the progress.
    logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    from conformance import execute, namespaces
    try:
        target = namespaces.resolve(target_name)
    except namespaces.SetupError as e:
        conn.send(("setup_error", str(e)))
        return
    except Exception as e:  # noqa: BLE001
        conn.send(("setup_error", f"cannot set up '{target_name}': {type(e).__name__}: {e}"))
        return
    available = [name for name in namespaces.REQUIRED + namespaces.OPTIONAL if target.has(name)]
    conn.send(("ready", {"versions": target.versions, "available": available}))
    session = execute.Session(target, clear_every=CLEAR_EVERY)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        case, fresh = request
        start = time.perf_counter()
        outcome = session.run(case, fresh=fresh)
        conn.send(("ok", outcome, time.perf_counter() - start))


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


class Worker:
    """One target in one child process. `run(case)` -> ("ok", outcome, seconds) | ("crash"|"timeout", detail)."""

    def __init__(self, target_name, timeout_s=20.0, memory_limit_mb=4096, recycle_every=500, stderr_path=None):
        self.target_name = target_name
        self.stderr_path = stderr_path
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit_mb * 2 ** 20
        self.recycle_every = recycle_every
        self.versions = {}
        self.available = set()
        self.restarts = 0
        self._process = self._conn = None
        self._served = 0
        self._ctx = multiprocessing.get_context("spawn")

    def start(self):
        parent, child = self._ctx.Pipe()
        saved = {k: os.environ.get(k) for k in WORKER_ENV}
        os.environ.update(WORKER_ENV)  # the spawned interpreter must see them before NumPy loads
        try:
            self._process = self._ctx.Process(target=_serve, args=(child, self.target_name, WORKER_ENV, self.stderr_path),
                                              daemon=True, name=f"rnnconf-worker-{self.target_name}")
            self._process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self._conn, self._served = parent, 0
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

    def stop(self):
        if self._process is None:
            return
        try:
            if self._process.is_alive():
                try:
                    self._conn.send(None)
                except (OSError, ValueError):
                    pass
                self._process.join(1.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5.0)
        finally:
            self._conn.close()
            self._process = self._conn = None

    def _kill(self):
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self.restarts += 1
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def run(self, case, fresh=False):
        failed = self.submit(case, fresh)
        return failed or self.collect()

    def submit(self, case, fresh=False):
        """Send a case (on a new layer if `fresh`); returns a crash result when it cannot even be sent,
        else None."""
        if self._process is None or self._served >= self.recycle_every:
            self.stop()
            self.start()
        self._served += 1
        self._deadline = time.monotonic() + self.timeout_s
        try:
            self._conn.send((case, fresh))
        except (OSError, ValueError):
            self._kill()
            return "crash", f"{self.target_name}: worker pipe broken before the case was sent"
        return None

    def collect(self):
        """Wait for the submitted case's outcome, or turn death/hang/bloat into a result."""
        pid = self._process.pid
        while True:
            if self._conn.poll(_POLL_S):
                try:
                    return self._conn.recv()
                except (EOFError, OSError):
                    break
            if not self._process.is_alive():
                break
            if rss_bytes(pid) > self.memory_limit:
                self._kill()
                return "crash", (f"{self.target_name}: resident memory above {self.memory_limit // 2 ** 20} MiB; "
                                 "worker killed")
            if time.monotonic() > self._deadline:
                self._kill()
                return "timeout", f"{self.target_name}: no result within {self.timeout_s:g}s; worker killed"
        self._process.join(5.0)
        code = self._process.exitcode
        self._kill()
        return "crash", f"{self.target_name}: worker process died (exit code {code}{_signal_name(code)})"


def _signal_name(code):
    if code is None or code >= 0:
        return ""
    import signal
    try:
        return f", {signal.Signals(-code).name}"
    except ValueError:
        return ""
