"""The child side of a fuzz.worker.Worker: the spawned process that resolves one target and runs
the cases it is sent (execute.Session), one answer message per request message.

`started` (shared memory with the parent) counts each case as it starts, so the parent knows which
case a dying or hanging child was on without waiting for an answer.
"""
import os
import time

from conformance import execute

CLEAR_EVERY = 100  # fresh layers between framework clear_session() calls (in execute.Session)


def serve(conn, target_name, env, stderr_path=None, started=None, retry_eager_reuse=True):
    """Child process: resolve the target, then run cases until told to stop, counting each case it
    starts in `started` (shared with the parent) and answering each message's cases in one message."""
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
    from conformance import namespaces
    try:
        target = namespaces.resolve(target_name)
    except namespaces.SetupError as e:
        conn.send(("setup_error", str(e)))
        return
    except Exception as e:  # noqa: BLE001
        conn.send(("setup_error", f"cannot set up '{target_name}': {type(e).__name__}: {e}"))
        return
    available = [name for name in namespaces.REQUIRED + namespaces.OPTIONAL if target.has(name)]
    conn.send(("ready", {"versions": target.versions, "available": available,
                         "compiles": target.compile is not None}))
    session = execute.Session(target, clear_every=CLEAR_EVERY, on_clear=release_memory,
                              retry_eager_reuse=retry_eager_reuse)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        answers = []
        for case, fresh, trace in request:
            if started is not None:
                started.value += 1
            start = time.perf_counter()
            outcome = session.run(case, fresh=fresh, trace=trace)
            answers.append(("ok", outcome, time.perf_counter() - start, session.last_path))
        conn.send(answers)


def release_memory():
    """Hand memory freed by the framework back to the system: collect cycles, then trim glibc's heap."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
