"""Named targets: an implementation in its own virtual environment.

A target is a name, the pinned requirements of its environment, the implementation name to resolve
inside it (conformance/namespaces.py: `keras3`, `tf_keras`, a module path) and environment variables
its worker needs before any import (`KERAS_BACKEND`). Its environment is created on first use under
`$RNNCONF_CACHE/envs/NAME` (default `~/.cache/rnnconf`) with `python -m venv` and `pip install` of the
pins, and reused while its stamp records the same pins. rnnconf's own dependencies (TensorFlow, the
oracle) are never installed there: the worker child gets rnnconf's source on its path instead
(fuzz/worker.py), so the oracle stays in rnnconf's environment and nothing a target installs reaches it.

`IMPL@PYTHON` (what `--impl IMPL --impl-python PYTHON` becomes) names an implementation in an
environment the user made: no pins, nothing installed.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

STAMP = "rnnconf-target.json"
# Distributions whose installed versions `rnnconf targets` shows.
SHOWN = ("keras", "keras-nightly", "jax", "jaxlib", "tensorflow", "tf-keras", "torch", "numpy", "tf2onnx", "onnx",
         "onnxruntime", "tract", "ai-edge-litert", "openvino")
# A converter's environment builds the layer with the oracle's own releases, so only the conversion differs.
ORACLE_PINS = ("tensorflow==2.21.0", "tf-keras==2.21.0")
_JAX = {"KERAS_BACKEND": "jax", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}  # x64: float64 cases stay float64
# JAX's compilation cache is kept on disk for a JAX target, shared by its workers and runs: Keras 3 compiles its
# time loop (lax.scan) anew at every eager call, 0.2-0.5 s each, and every fresh layer's first call; a computation
# compiled before is loaded instead (the same XLA program, so the same results). filelock: the size limit needs it.
JAX_CACHE_PIN = "filelock==4.3.2"
JAX_CACHE_MAX_BYTES = 512 * 2 ** 20
# One tf2onnx conversion, three ONNX runtimes (rnnconf/converters/onnx_runtimes.py): one environment holds them all.
ONNX_PINS = ORACLE_PINS + ("tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0", "tract==0.23.9")


@dataclass(frozen=True)
class TargetSpec:
    name: str
    pins: tuple               # pip requirements, each pinned
    impl: str                 # the implementation name inside the environment (namespaces.resolve)
    env: dict = field(default_factory=dict)   # set in the worker before any import
    heavy: bool = False       # a large download: never part of `make test`
    note: str = ""
    fixed_weights: bool = False  # a drawn case's data variants keep its weights (a converter converts once)
    package: str = ""         # the distribution whose version labels the target (default: the implementation's)
    jax_cache: bool = False   # JAX's compilation cache on disk (speed only: never in a reproducer's environment)
    environment: str = ""     # the folder under envs/ (default: the name): targets with the same pins share one


TARGETS = {spec.name: spec for spec in (
    TargetSpec("keras3-jax", ("keras==3.15.1", "jax==0.10.2", "jaxlib==0.10.2", "numpy==2.4.6", JAX_CACHE_PIN),
               "keras3", _JAX, jax_cache=True),
    # Keras' NumPy backend imports SciPy and JAX (it borrows some of JAX's ops), which Keras does not require.
    TargetSpec("keras3-numpy", ("keras==3.15.1", "numpy==2.4.6", "scipy==1.17.1", "jax==0.10.2", "jaxlib==0.10.2"),
               "keras3", {**_JAX, "KERAS_BACKEND": "numpy"}),
    TargetSpec("keras3-torch", ("keras==3.15.1", "torch==2.13.0", "numpy==2.4.6"), "keras3",
               {"KERAS_BACKEND": "torch"}, heavy=True,
               note="a CPU torch wheel exists only locally (PIP_FIND_LINKS) for Python 3.11; elsewhere pip "
                    "takes a multi-GB CUDA build"),
    TargetSpec("keras-nightly", ("keras-nightly==3.16.0.dev2026102704", "jax==0.10.2", "jaxlib==0.10.2",
                                 "numpy==2.4.6", JAX_CACHE_PIN), "keras3", _JAX, jax_cache=True),
    TargetSpec("tf_keras-2.17", ("tensorflow==2.17.1", "tf-keras==2.17.0"), "tf_keras", heavy=True,
               note="TensorFlow: about 600 MB"),
    TargetSpec("tf_keras-2.19", ("tensorflow==2.19.1", "tf-keras==2.19.0"), "tf_keras", heavy=True,
               note="TensorFlow: about 600 MB"),
    # Converters (rnnconf/converters): the layer is tf_keras', what runs is the converted model.
    # tf2onnx's model on onnxruntime, on onnx's reference evaluator (pure Python), on tract (Rust).
    TargetSpec("onnx", ONNX_PINS, "rnnconf.converters.onnx", heavy=True, note="TensorFlow: about 600 MB",
               fixed_weights=True, package="tf2onnx", environment="onnx"),
    TargetSpec("onnx-reference", ONNX_PINS, "rnnconf.converters.onnx_reference", heavy=True,
               note="TensorFlow: about 600 MB", fixed_weights=True, package="onnx", environment="onnx"),
    TargetSpec("onnx-tract", ONNX_PINS, "rnnconf.converters.onnx_tract", heavy=True, note="TensorFlow: about 600 MB",
               fixed_weights=True, package="tract", environment="onnx"),
    TargetSpec("tflite", ORACLE_PINS + ("ai-edge-litert==2.3.0",), "rnnconf.converters.tflite", heavy=True,
               note="TensorFlow: about 600 MB", fixed_weights=True, package="tensorflow"),
    TargetSpec("openvino", ORACLE_PINS + ("openvino==2026.4.1",), "rnnconf.converters.openvino", heavy=True,
               note="TensorFlow: about 600 MB", fixed_weights=True, package="openvino"),
    # A port written by hand (examples/torch_port): Keras 2's layers over torch.nn.RNN/GRU/LSTM, weights
    # converted from Keras' order. The worker finds it on rnnconf's source root, as a user's CI finds theirs.
    TargetSpec("torch-port", ("torch==2.13.0", "numpy==2.4.6"), "examples.torch_port", heavy=True,
               note="a CPU torch wheel exists only locally (PIP_FIND_LINKS) for Python 3.11; elsewhere pip "
                    "takes a multi-GB CUDA build", package="torch"),
    # The oracle's own layers, their calls compiled by XLA (jit_compile=True): rnnconf/converters/xla.py.
    TargetSpec("tf_keras-xla", ORACLE_PINS, "rnnconf.converters.xla", heavy=True, note="TensorFlow: about 600 MB",
               fixed_weights=True, package="tensorflow"),
)}


class TargetError(Exception):
    """A target that cannot be set up: one line for the user."""


def cache_dir():
    return os.environ.get("RNNCONF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "rnnconf")


def env_dir(name):
    spec = TARGETS.get(name)
    return os.path.join(cache_dir(), "envs", (spec and spec.environment) or name)


def jax_cache_env(name):
    """The variables that give target `name`'s workers JAX's compilation cache, under the cache directory."""
    return {"JAX_COMPILATION_CACHE_DIR": os.path.join(cache_dir(), "jax-cache", name),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_COMPILATION_CACHE_MAX_SIZE": str(JAX_CACHE_MAX_BYTES)}


def python_of(name):
    return os.path.join(env_dir(name), "bin", "python")


def _stamp(name):
    try:
        with open(os.path.join(env_dir(name), STAMP)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def installed(spec):
    """Whether the target's environment exists with exactly its pins."""
    stamp = _stamp(spec.name)
    return bool(stamp) and stamp.get("pins") == list(spec.pins) and os.path.exists(python_of(spec.name))


def split_remote(name):
    """(implementation, interpreter) of an `IMPL@PYTHON` name, else None (module paths hold no '@')."""
    impl, at, python = (name or "").partition("@")
    return (impl, python) if at and impl and python else None


def fixed_weights(name):
    """Whether `--impl name` wants a drawn case's data variants on the same weights (TargetSpec)."""
    spec = TARGETS.get(name)
    return bool(spec and spec.fixed_weights)


def remote_spec(name, install=True, log=None):
    """(implementation, interpreter, environment variables) where `name` runs in another interpreter
    (a registered target, created here on first use if `install`, or `IMPL@PYTHON`), else None."""
    if name in TARGETS:
        spec = TARGETS[name]
        python = ensure(spec, log=log) if install else python_of(name)
        return spec.impl, python, {**spec.env, **(jax_cache_env(name) if spec.jax_cache else {})}
    split = split_remote(name)
    if split is None:
        if "-" in (name or "").partition(":")[0]:  # no module path has one
            raise TargetError(f"unknown target '{name}' (targets: {', '.join(TARGETS)}; `rnnconf targets` lists them)")
        return None
    impl, python = split
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise TargetError(f"--impl-python {python}: no such executable")
    return impl, os.path.abspath(python), {}


def ensure(spec, log=None):
    """The interpreter of the target's environment, creating or recreating it when its pins changed;
    pip's output streams to `log` (stderr). Raises TargetError saying which pin failed."""
    log = log or sys.stderr
    if installed(spec):
        return python_of(spec.name)
    root = env_dir(spec.name)
    os.makedirs(os.path.dirname(root), exist_ok=True)
    # Several processes may resolve the same target at once (pytest -n, fuzz drivers): one installs.
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed(spec):
            return python_of(spec.name)
        _say(log, f"creating the environment of target '{spec.name}' in {root} "
                  f"({' '.join(spec.pins)}){'; ' + spec.note if spec.note else ''}")
        if os.path.exists(root):
            shutil.rmtree(root)
        _run([sys.executable, "-m", "venv", root], log, spec, "creating the virtual environment")
        _run([python_of(spec.name), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
              *spec.pins], log, spec, "pip install")
        with open(os.path.join(root, STAMP), "w") as f:
            json.dump({"pins": list(spec.pins)}, f)
        _say(log, f"target '{spec.name}' ready")
    return python_of(spec.name)


def _say(log, text):
    print(f"rnnconf: {text}", file=log, flush=True)


def _run(cmd, log, spec, what):
    """Run a set-up command, streaming its output to `log`; a TargetError naming the failed pin."""
    lines = []
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    except OSError as e:
        raise TargetError(f"target '{spec.name}': {what} could not start: {e}") from None
    for line in proc.stdout:
        lines.append(line)
        log.write(line)
        log.flush()
    if proc.wait() != 0:
        raise TargetError(f"target '{spec.name}': {what} failed (exit {proc.returncode}): "
                          f"{failed_pin(spec.pins, ''.join(lines))}")


_PIP_FAILURES = (r"No matching distribution found for (\S+)",
                 r"Could not find a version that satisfies the requirement (\S+)",
                 r"Cannot install (\S+)")


def failed_pin(pins, output):
    """What a failed pip run says about which pin failed, as one line."""
    for pattern in _PIP_FAILURES:
        m = re.search(pattern, output)
        if m:
            name = m.group(1)
            pin = next((p for p in pins if _dist(p) == _dist(name)), name)
            return f"pin {pin} cannot be installed"
    if "ResolutionImpossible" in output or "conflict" in output.lower():
        return f"the pins conflict: {' '.join(pins)}"
    last = [line.strip() for line in output.splitlines() if line.strip()]
    return last[-1] if last else "(no output)"


def _dist(requirement):
    return re.split(r"[=<>!~\[ ;]", requirement, 1)[0].lower().replace("_", "-")


def installed_versions(name):
    """{distribution: version} of SHOWN in the target's environment; {} if it is not there."""
    python = python_of(name)
    if not os.path.exists(python):
        return {}
    code = ("import json, importlib.metadata as m\nout = {}\nfor d in %r:\n    try: out[d] = m.version(d)\n"
            "    except m.PackageNotFoundError: pass\nprint(json.dumps(out))") % (SHOWN,)
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
        return json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


def listing():
    """The lines of `rnnconf targets`."""
    lines = [f"cache: {os.path.join(cache_dir(), 'envs')}"]
    for spec in TARGETS.values():
        state = "installed" if installed(spec) else "not installed"
        if state == "installed":
            versions = installed_versions(spec.name)
            state += " (" + ", ".join(f"{d} {v}" for d, v in versions.items()) + ")" if versions else ""
        env = " ".join(f"{k}={v}" for k, v in spec.env.items())
        lines.append(f"{spec.name}: --impl {spec.impl} in {' '.join(spec.pins)}" + (f" [{env}]" if env else ""))
        lines.append(f"    {state}" + (f"; heavy: {spec.note}" if spec.heavy else ""))
    return lines


def serve_worker(*args):
    """A worker child's entry point in a target's environment: fuzz/worker_child.py's `serve`, imported
    without the fuzz package's __init__ (it sets up Hypothesis, which the target's environment lacks)."""
    import types
    if "fuzz" not in sys.modules:
        package = types.ModuleType("fuzz")
        package.__path__ = [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz")]
        sys.modules["fuzz"] = package
    from fuzz.worker_child import serve
    return serve(*args)
