"""Resolving `--impl NAME` to an implementation under test (interfaces.md section 1), and the adapter
protocol through which any tensor library can sit behind the namespace.

The protocol: besides its layer classes, a namespace may expose these optional attributes
(docs/protocol.md):

  ops                      `dot`, `tanh`, `fill`, `cast_like`: the math of the suite's custom cells
                           (default: NumPy's)
  TensorShape              builds a high-dimensional `state_size` (default: tuple)
  rnnconf_to_tensor(a)     a NumPy array -> the implementation's tensor, for what rnnconf hands a layer
                           besides its inputs and mask: `initial_state`, `constants` (default: the array)
  rnnconf_compile(fn)      `fn` compiled, for the layers the fuzzer reuses (default: none)
  rnnconf_clear_session()  frees what the framework keeps per layer built; called every 100 fresh
                           layers (default: none)
  Model                    `Model(inputs, outputs)` over symbolic `Input`s, with `predict` (default:
                           none; the checks that need a functional model are then unsupported)
  rnnconf_set_seed(n)      seeds the implementation's random draws (dropout masks), so that sampling a
                           case twice gives the same samples (default: none; runs then differ)
  rnnconf_framework        "tf_keras" or "keras3": the framework whose tensors and errors the namespace
                           has where its RNN class is not that framework's (adapters/converters)
  rnnconf_gradients(layer, inputs, kwargs, cotangents)
                           one call differentiated: (result, gradients of the shared loss of
                           gradients.md); see engine/gradients.py (default: tf.GradientTape for
                           tf_keras and Keras 3 on TensorFlow, jax.vjp on JAX, autograd on torch; none
                           otherwise, and the GRAD checks are then unsupported)

tf_keras and Keras 3 are served through the same protocol: an adapter object provides these hooks
for a namespace whose `RNN` class subclasses tf_keras' or Keras 3's `Layer`, so `tf_keras.layers`,
`keras.layers` and any package that wraps or subclasses them need no hook of their own. A hook the
namespace defines itself wins over its adapter's.

The protocol's code (Target, the adapters) is in_process.py, which a worker's child process resolves its
namespace with; this module adds the targets of other interpreters (RemoteTarget).
"""
import builtins

from rnnconf.adapters import targets
from rnnconf.adapters.in_process import (HOOKS, OPTIONAL, REQUIRED, SHORT_NAMES, SetupError, Target,  # noqa: F401
                                         adapter_for, resolve_in_process, target_for)
from rnnconf.adapters.worker import Worker, WorkerSetupError


def resolve(name, python=None):
    """Turn `--impl NAME` into a Target, or raise SetupError with one clear line. A registered target
    (rnnconf.adapters.targets: `keras3-jax`), or NAME run by another interpreter (`python`, or `NAME@PYTHON`),
    is a RemoteTarget: its cases run in a worker process of that environment."""
    if not name:
        raise SetupError("no implementation given: pass --impl NAME (reference, tf_keras, keras3, or a module path)")
    if python:
        name = f"{name}@{python}"
    try:
        remote = targets.remote_spec(name)
    except targets.TargetError as e:
        raise SetupError(str(e)) from None
    if remote is not None:
        return RemoteTarget(name, *remote)
    return resolve_in_process(name)


# ---- a target in another interpreter ----------------------------------------------------------------
REMOTE_TIMEOUT_S = 120.0  # one case of the suite in the worker; past it the case is a WorkerTimeout error


class RemoteTarget:
    """An implementation in another environment (rnnconf.adapters.targets), served by a rnnconf.adapters.worker.Worker
    running that environment's interpreter. The suite reaches it through execute.run (one fresh layer
    a case, as in-process), dropout.sample and shared_mask_violations (run in the worker), `has`,
    `name`, `versions` and `framework`.

    Code that uses the namespace itself (the error paths' direct triggers) is a function of the target,
    handed to `call`: it runs whole in the worker, on the worker's own Target, and its error (class
    names and message, as execute.describe_error records them) is raised here. The namespace's own
    attributes (`ns`, `ops`, `to_native`, ...) are not here to touch."""
    remote = True
    module = None
    compile = clear_session = adapter = None

    def __init__(self, name, impl, python, env, timeout_s=REMOTE_TIMEOUT_S):
        self.name, self.module, self.python = name, impl, python
        self.worker = Worker(name, timeout_s=timeout_s, python=python, env=env, impl=impl)
        try:
            self.worker.start()
        except WorkerSetupError as e:
            raise SetupError(str(e)) from None
        self.versions = dict(self.worker.versions)
        self.framework = self.worker.framework
        self._names = self.worker.available | self.worker.hooks

    def __repr__(self):
        # As Target's: failing tests print their fixtures, and reports must not carry this machine's paths.
        return f"RemoteTarget({self.name!r}, module={self.module!r})"

    def has(self, name):
        return name in self._names

    def run(self, case):
        """execute.run's outcome of the case, from the worker."""
        return _answer_outcome(self.worker.run(case, fresh=True))

    def sample(self, case, n, per_call=1, seed=0):
        """dropout.sample's outcome of the case, from the worker."""
        return _answer_outcome(self.worker.run(dict(case, samples=[n, per_call, seed]), fresh=True))

    def call(self, function, *args):
        """`function(target, *args)` run in the worker (a function of rnnconf's source)."""
        answer = self.worker.call(function, *args)
        if answer[0] != "ok":
            raise remote_exception(_failure_error(answer))
        if answer[1]["error"]:
            raise remote_exception(answer[1]["error"])
        return answer[1]["value"]

    def __getattr__(self, name):
        if name in ("ns", "ops", "to_native", "shape_type", "get", "reset_states"):
            raise OutOfReach(f"{self.name} runs in another interpreter: its namespace is reached only by a "
                             f"function of the target handed to target.call(function), not through .{name}")
        raise AttributeError(name)


class OutOfReach(TypeError):
    """rnnconf's code touched a RemoteTarget's namespace outside target.call: rnnconf's failure, never the
    implementation's refusal (compare.NOT_A_REFUSAL)."""


def _failure_error(answer):
    """A worker's crash, timeout or lost answer as describe_error's record."""
    kind = {"crash": "WorkerCrash", "timeout": "WorkerTimeout"}.get(answer[0], "WorkerLost")
    return {"type": kind, "mro": [kind, "Exception", "BaseException", "object"], "message": answer[1],
            "stage": "construct"}


def _answer_outcome(answer):
    if answer[0] == "ok":
        return answer[1]
    return {"steps": [], "error": _failure_error(answer)}


def remote_exception(error):
    """An exception whose class name, class names of its MRO and message are those of the worker's
    error record: what execute.describe_error reads of it."""
    names = list(error.get("mro") or [error["type"], "Exception", "BaseException", "object"])
    first = next((i for i, n in enumerate(names)
                  if isinstance(getattr(builtins, n, None), type) and issubclass(getattr(builtins, n), BaseException)),
                 None)
    if first is None:
        names, first = [error["type"]] + ["Exception"], 1
    cls = getattr(builtins, names[first])
    for n in reversed(names[:first]):
        cls = type(n, (cls,), {"__module__": "rnnconf.remote"})
    try:
        exc = cls(error["message"])
    except TypeError:  # a builtin class with another signature (UnicodeDecodeError)
        exc = type(names[0], (Exception,), {"__module__": "rnnconf.remote"})(error["message"])
    exc.rnnconf_stage = error.get("stage")  # execute.STAGE_MARK: the stage the worker recorded
    return exc
