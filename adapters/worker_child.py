"""The child side of a rnnconf.adapters.worker.Worker: the spawned process that resolves one target and runs
the cases it is sent (execute.Session; dropout.sample for a request of samples), one answer message per
request message.

`started` (shared memory with the parent) counts each case as it starts, so the parent knows which
case a dying or hanging child was on without waiting for an answer.
"""
import ctypes
import gc
import importlib
import logging
import os
import time
import warnings

from rnnconf.engine import dropout, execute
from rnnconf.engine import oracle_coverage
from rnnconf.engine.cases import normalize
from rnnconf.adapters import in_process

CLEAR_EVERY = 100  # fresh layers between framework clear_session() calls (in execute.Session)
# The implementation under test calls every 16th reuse of a compiled layer eagerly (execute.Session):
# with 64 variants a drawn case, 3 eager calls on new data beside its fresh run.
EAGER_SPOT_EVERY = 16
CALL = "rnnconf_call"  # a request that is a function call, not a case (Worker.call)


def serve(conn, target_name, env, stderr_path=None, started=None, retry_eager_reuse=True):
    """Child process: resolve the target, then run cases until told to stop, counting each case it
    starts in `started` (shared with the parent) and answering each message's cases in one message."""
    os.environ.update(env)
    if stderr_path:
        # Framework start-up chatter and a dying child's last words go to a file, not the progress bar.
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    # TF's Python logger reports unused TensorArrays of failing calls as ERRORs; NumPy warns about
    # the overflow of diverging cases. Both are expected in a fuzzer and would drown the progress.
    logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    coverage_tick = oracle_coverage.start_in_worker(target_name)  # --oracle-coverage: before tf_keras loads
    try:
        target = in_process.resolve_in_process(target_name)
    except in_process.SetupError as e:
        conn.send(("setup_error", str(e)))
        return
    except Exception as e:  # noqa: BLE001
        conn.send(("setup_error", f"cannot set up '{target_name}': {type(e).__name__}: {e}"))
        return
    available = [name for name in in_process.REQUIRED + in_process.OPTIONAL if target.has(name)]
    hooks = [name for name in in_process.HOOKS if target.has(name) and name not in available]
    conn.send(("ready", {"versions": target.versions, "available": available, "hooks": hooks,
                         "compiles": target.compile is not None, "framework": target.framework}))
    # The oracle retries an eager reuse's error fresh; the implementation under test is judged on it,
    # and spot-checked eagerly.
    session = execute.Session(target, clear_every=CLEAR_EVERY, on_clear=release_memory,
                              retry_eager_reuse=retry_eager_reuse,
                              eager_every=None if retry_eager_reuse else EAGER_SPOT_EVERY)
    conversions = getattr(target.ns, "rnnconf_conversions", None)  # converter targets count their models
    while True:
        try:
            request = conn.recv()
        except EOFError:
            request = None
        if request is None:
            oracle_coverage.save()
            return
        answers = []
        for case, fresh, trace in request:
            if started is not None:
                started.value += 1
            start = time.perf_counter()
            if isinstance(case, dict) and CALL in case:
                answers.append(("ok", call(target, case), time.perf_counter() - start, "call"))
                continue
            before = conversions() if conversions else 0
            outcome = sample(session, case) if case.get("samples") else session.run(case, fresh=fresh, trace=trace)
            converted = (conversions() - before) if conversions else 0
            answers.append(("ok", outcome, time.perf_counter() - start, session.last_path, converted))
        conn.send(answers)
        coverage_tick()


def sample(session, case):
    """dropout.sample's outcome of a request of dropout samples (`samples`: [n, per call, seed]) on the
    session's target: always a fresh, eager layer (traced tf_keras draws a mask per step)."""
    case = normalize(case)
    n, per_call, seed = case["samples"]
    session.count_fresh("sampled")
    return dropout.sample(session.target, dict(case, samples=None), n, per_call=per_call, seed=seed)


def release_memory():
    """Hand memory freed by the framework back to the system: collect cycles, then trim glibc's heap."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def call(target, request):
    """{"value": function(target, *args)} or {"error": describe_error's record} for a Worker.call."""
    try:
        function = find_function(*request[CALL])
        return {"value": function(target, *request["args"]), "error": None}
    except Exception as e:  # noqa: BLE001 - the error is the answer
        return {"value": None, "error": execute.describe_error(e, "call")}


def find_function(module, name, line):
    """The function named `name` defined at `line` of rnnconf's module `module`: a module attribute, or
    one kept in a module-level list or dict (the registry of error triggers, all named `_`)."""
    module_object = importlib.import_module(module)

    def matches(value):
        code = getattr(value, "__code__", None)
        return code is not None and code.co_name == name and code.co_firstlineno == line

    def search(value, depth):
        if matches(value):
            return value
        if depth and isinstance(value, (list, tuple)):
            items = value
        elif depth and isinstance(value, dict):
            items = list(value.values())
        else:
            return None
        for item in items:
            found = search(item, depth - 1)
            if found is not None:
                return found
        return None

    for value in list(vars(module_object).values()):
        found = search(value, 3)
        if found is not None:
            return found
    raise LookupError(f"no function {name} at line {line} of {module} in this worker's rnnconf source")
