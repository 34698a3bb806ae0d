"""Which lines, branches and `raise` statements of the oracle's RNN code a check reaches (coverage.py).

`rnnconf check --oracle-coverage` sets ENV_DIR (the data folder) and ENV_TARGET (the oracle's name).
Every process that runs the oracle then measures itself and writes its own data file there:
  - the suite's pytest processes (controller and xdist workers) load this module as a plugin
    (`-p conformance.oracle_coverage`) and start measuring before the suite's conftest is loaded;
  - a fuzz worker child (fuzz/worker_child.py) whose target is the oracle calls `start_in_worker`.
`combine` merges the data files; `summarize` turns them into results.json's `oracle_coverage`: per
file, lines and branches covered out of total, the uncovered line ranges, the missing branches and
every `raise` with whether it was reached and the ERR ID of error-paths.md it belongs to.

Measured: tf_keras' `layers/rnn/` and `backend.py`. The contract's files (CONTRACT_FILES) are the
ones that implement RNN, SimpleRNN, GRU, LSTM, their cells, StackedRNNCells and their mixins and
utilities; of backend.py only the function `rnn` counts. The other RNN files (Bidirectional,
ConvLSTM, TimeDistributed, the legacy and cuDNN-only layers) are reported apart (OUTSIDE_FILES).
What cannot run on a CPU machine with one process is explained in UNREACHABLE, the one table of reasons.
"""
import ast
import atexit
import glob
import importlib.util
import json
import os
import re
import signal
import time

ENV_DIR = "RNNCONF_ORACLE_COVERAGE"
ENV_TARGET = "RNNCONF_ORACLE_COVERAGE_TARGET"
DATA_NAME = ".coverage"  # each process writes DATA_NAME.<host>.<pid>.<random> (coverage's parallel mode)
SAVE_EVERY_S = 10.0      # a worker saves its data this often: a killed worker loses at most this much

# Paths relative to tf_keras/src. BACKEND_FUNCTION: of backend.py, only this function is reported.
BACKEND_FILE, BACKEND_FUNCTION = "backend.py", "rnn"
CONTRACT_FILES = [
    "layers/rnn/base_rnn.py", "layers/rnn/abstract_rnn_cell.py", "layers/rnn/simple_rnn.py",
    "layers/rnn/gru.py", "layers/rnn/lstm.py", "layers/rnn/stacked_rnn_cells.py",
    "layers/rnn/dropout_rnn_cell_mixin.py", "layers/rnn/rnn_utils.py", "layers/rnn/gru_lstm_utils.py",
    BACKEND_FILE,
]
OUTSIDE_FILES = [
    "layers/rnn/bidirectional.py", "layers/rnn/base_wrapper.py", "layers/rnn/time_distributed.py",
    "layers/rnn/base_conv_rnn.py", "layers/rnn/base_conv_lstm.py", "layers/rnn/conv_lstm1d.py",
    "layers/rnn/conv_lstm2d.py", "layers/rnn/conv_lstm3d.py", "layers/rnn/cell_wrappers.py",
    "layers/rnn/legacy_cells.py", "layers/rnn/legacy_cell_wrappers.py", "layers/rnn/gru_v1.py",
    "layers/rnn/lstm_v1.py", "layers/rnn/base_cudnn_rnn.py", "layers/rnn/cudnn_gru.py",
    "layers/rnn/cudnn_lstm.py",
]

# Why a path of the contract's files is not reached. A missing line or branch is explained by a row
# of its file whose `where` (a regular expression) matches the qualified name of the function it is
# in and, where `under` is given, whose text occurs in the line or in the header of a statement
# around it (an `if`, `for`, `def` ...; the innermost such match wins). Anything else is a gap. The rows are about
# tf_keras 2.21's source; a category says whether the path can run on this machine at all.
CATEGORIES = {
    "gpu": "cannot run here: GPU only (cuDNN or ROCm kernels and the device checks that select them)",
    "switched-off": "cannot run here: behind a switch tf_keras 2.21 hard-codes off "
                    "(gru_lstm_utils.use_new_gru_lstm_impl() returns False)",
    "tf1": "cannot run here: TF1 graph mode only (tf2 disabled, or no eager execution outside functions)",
    "defensive": "cannot run: a check or branch no input reaches (the code before it already ensures it)",
    "harness": "can run, not the way rnnconf drives the oracle: it builds layers eagerly before it traces "
               "a call, under no XLA",
    "outside-contract": "can run, but is API the contract does not cover, so rnnconf does not call it",
}
_CONFIG = r"(?:\w+\.)?(?:get_config|from_config|_trackable_saved_model_saver|_use_input_spec_as_call_signature)"
_PROPERTY = (r"(?:SimpleRNN|GRU|LSTM)\.(?:units|activation|recurrent_activation|use_bias|\w+_initializer|"
             r"\w+_regularizer|\w+_constraint|unit_forget_bias|dropout|recurrent_dropout|implementation|reset_after)")
SERIALIZATION = "serialization and SavedModel (get_config, from_config, pickling, the SavedModel saver)"
NESTED = "nested inputs (a cell that takes a tuple or dict of tensors per step): not in the contract's clauses"
LIST_MASK = "a list of masks (one per input, as Keras' functional API passes for list inputs)"
UNREACHABLE = [  # (file, where, under, category, why)
    # Everywhere
    ("*", _CONFIG, None, "outside-contract", SERIALIZATION),
    ("*", _PROPERTY, None, "outside-contract", "the layers' read-only properties that mirror their cell's arguments"),
    ("*", r".*", "executing_eagerly_outside_functions()", "tf1",
     "`enable_caching_device` defaults to False only outside TF2's eager mode"),
    ("*", r".*\.__init__", '"enable_caching_device" in kwargs', "outside-contract",
     "the undocumented `enable_caching_device` argument"),
    ("*", r".*\.__init__", "implementation == 0", "outside-contract", "the deprecated `implementation=0`"),
    ("*", r".*\.__init__", '"implementation" in kwargs', "outside-contract",
     "SimpleRNN's ignored `implementation` argument"),
    ("*", r".*", "use_new_gru_lstm_impl()", "switched-off", "the new GRU/LSTM backend wrapper"),
    ("*", r".*", 'list_logical_devices("GPU")', "gpu", "a GPU is visible"),
    ("*", r".*\.__init__", "if self._could_use_gpu_kernel:", "gpu", "logs whether the layer could use cuDNN on a GPU"),
    ("*", r".*", "can_use_gpu", "gpu", "the eager call runs the cuDNN kernel on a GPU"),
    ("*", r".*", 'get_build_info()["is_cuda_build"]', "gpu", "the CUDA and ROCm builds' parameters"),
    ("*", r".*", 'get_build_info()["is_rocm_build"]', "gpu", "a ROCm build"),
    ("*", r".*", "self._return_runtime", "outside-contract", "a private switch of tf_keras' own tests"),
    ("*", r".*", "self.return_runtime", "outside-contract", "a private switch of tf_keras' own tests"),
    ("*", r".*", "isinstance(mask, list)", "outside-contract", LIST_MASK),
    # base_rnn.py
    ("layers/rnn/base_rnn.py", r"RNN\.__init__", '"input_shape" not in kwargs', "outside-contract",
     "the legacy `input_dim` and `input_length` constructor arguments"),
    ("layers/rnn/base_rnn.py", r"RNN\.compute_output_shape.*", None, "outside-contract",
     "`compute_output_shape`, Keras' static shape inference (a functional model in TF2 calls the layer instead)"),
    ("layers/rnn/base_rnn.py", r"RNN\.build\.get_(?:input_spec|step_input_shape)", "isinstance(shape, tf.TensorShape)",
     "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "is_nested(input_shape)", "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "is_nested(state_size)", "defensive",
     "`state_size` was made a list just before, so it is always nested"),
    ("layers/rnn/base_rnn.py", r"RNN\.(?:get_initial_state|call)", "is_nested(inputs)", "outside-contract", NESTED),
    ("layers/rnn/base_rnn.py", r"RNN\._process_inputs", "len(initial_state) == 0", "outside-contract",
     "a tuple input that carries its initial states (as SavedModel loading passes it; a user's tuple input "
     "fails earlier: ERR-31, ERR-32)"),
    ("layers/rnn/base_rnn.py", r"RNN\.call", "not isinstance(states, (list, tuple))", "defensive",
     "the step function puts a cell's bare new state in a list, so backend.rnn returns a list"),
    ("layers/rnn/base_rnn.py", r"RNN\._validate_args_if_ragged", None, "outside-contract",
     "RaggedTensor inputs (a TensorFlow type; the contract checks their error paths only)"),
    ("layers/rnn/base_rnn.py", r"RNN\.build", "isinstance(self.cell, base_layer.Layer) and not self.cell.built",
     "outside-contract", "a cell already built when its layer builds (one cell object in two layers, or a cell "
     "built by hand first): no clause describes it"),
    # gru.py, lstm.py: the cuDNN functions run on a GPU only, but a traced layer traces them on a CPU too
    ("layers/rnn/gru.py", r"gpu_gru", "sequence_lengths is None and return_sequences", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/gru.py", r"gpu_gru", "if sequence_lengths is not None:", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/lstm.py", r"gpu_lstm", "sequence_lengths is None and return_sequences", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    ("layers/rnn/lstm.py", r"gpu_lstm", "if sequence_lengths is not None:", "defensive",
     "`sequence_lengths` was filled just before where it was None, so it is never None here"),
    # simple_rnn.py
    ("layers/rnn/simple_rnn.py", r"SimpleRNNCell\.call", "self.activation is not None", "defensive",
     "activations.get(None) is the linear function: the cell's activation is never None"),
    # stacked_rnn_cells.py
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.__init__", "self.reverse_state_order", "outside-contract",
     "the deprecated `reverse_state_order` argument"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.output_size", None, "outside-contract",
     "the stack's own `output_size`, read only by `compute_output_shape`"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build", "isinstance(cell, base_layer.Layer) and not cell.built",
     "outside-contract", "a stacked cell already built when the stack builds (one cell object in two stacks, or a "
     "cell built by hand first): no clause describes it"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build.*", "isinstance(input_shape, list)",
     "outside-contract", NESTED),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build.*", "is_nested(output_dim)", "outside-contract",
     "a stacked cell with nested outputs (a nested `output_size`) feeding the next cell"),
    ("layers/rnn/stacked_rnn_cells.py", r"StackedRNNCells\.build\.get_batch_input_shape", None, "outside-contract",
     "a stacked cell with nested outputs (a nested `output_size`) feeding the next cell"),
    # dropout_rnn_cell_mixin.py
    ("layers/rnn/dropout_rnn_cell_mixin.py", r"DropoutRNNCellMixin\.__(?:get|set)state__", None, "outside-contract",
     SERIALIZATION),
    # rnn_utils.py
    ("layers/rnn/rnn_utils.py", r"standardize_args", "len(inputs) > 1", "defensive",
     "the list was cut to its first element just before"),
    ("layers/rnn/rnn_utils.py", r"caching_device", None, "harness",
     "a cell built inside a tf.function or a TF1 graph (rnnconf builds every layer eagerly first)"),
    ("layers/rnn/rnn_utils.py", r"config_for_enable_caching_device", None, "outside-contract", SERIALIZATION),
    # gru_lstm_utils.py
    ("layers/rnn/gru_lstm_utils.py", r"DefunWrapper\..*", None, "switched-off",
     "only built when use_new_gru_lstm_impl() is true"),
    ("layers/rnn/gru_lstm_utils.py", r"get_context_device_type", "current_device is None", "defensive",
     "eager execution always has a device name"),
    # backend.py, function rnn
    ("backend.py", r"rnn", "not tf.__internal__.tf2.enabled()", "tf1", "TF1 returns every output"),
    ("backend.py", r"rnn\._expand_mask", "is_nested(mask_t)", "defensive",
     "the mask is one tensor (a nested mask fails on `mask.dtype` before: ERR-44), so each step's slice is too"),
    ("backend.py", r"rnn", "is_nested(inputs)", "outside-contract", NESTED),
    ("backend.py", r"rnn", "mask.dtype != tf.bool", "harness",
     "a mask that is not boolean (rnnconf's cases pass 0/1 masks as booleans on both sides)"),
    ("backend.py", r"rnn", "len(mask.shape) == 2", "outside-contract", "a mask of more than two dimensions"),
    ("backend.py", r"rnn", "GraphOrParentsInXlaContext", "harness", "XLA compilation (jit_compile)"),
    ("backend.py", r"rnn", "isinstance(input_length, tf.Tensor)", "outside-contract",
     "RaggedTensor inputs, whose row lengths become the sequence lengths"),
    ("backend.py", r"rnn\._step|rnn\.set_shape|rnn\.compute_masked_output", "isinstance(new_state, tf.Tensor)",
     "outside-contract", "a cell that returns a state that is not a tensor"),
    ("backend.py", r"rnn\.set_shape", "isinstance(output_, tf.Tensor)", "outside-contract",
     "a cell that returns an output that is not a tensor"),
]


# ---- measuring -----------------------------------------------------------------------------------
def tf_keras_root():
    """tf_keras/src, found without importing tf_keras (measuring must start before its import)."""
    spec = importlib.util.find_spec("tf_keras")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "src")


def _include(root):
    return [os.path.join(root, "layers", "rnn", "*.py"), os.path.join(root, BACKEND_FILE)]


_active = None


def start(data_dir):
    """Measure this process into data_dir (a file of its own), saved at exit; the Coverage object."""
    global _active
    if _active is not None:
        return _active
    try:
        import coverage
    except ImportError:  # `check` refuses --oracle-coverage without it; a lost measurement fails nothing
        return None
    root = tf_keras_root()
    if root is None:
        return None
    os.makedirs(data_dir, exist_ok=True)
    cov = coverage.Coverage(data_file=os.path.join(data_dir, DATA_NAME), data_suffix=True, branch=True,
                            include=_include(root), config_file=False)
    cov.set_option("run:disable_warnings", ["no-data-collected"])  # pytest-xdist's controller runs no layer
    cov.start()
    _active = cov
    atexit.register(save)
    return cov


def save():
    """Write what this process measured so far (measuring goes on)."""
    if _active is not None:
        try:
            _active.save()
        except Exception:  # noqa: BLE001 - a lost sample of coverage must never fail a check
            pass


def start_in_worker(target_name):
    """In a fuzz worker child: measure when --oracle-coverage is on and this worker runs the oracle.
    A terminated worker saves before it goes. Returns a function to call between requests, which
    saves every SAVE_EVERY_S seconds (a killed worker loses at most that)."""
    data_dir = os.environ.get(ENV_DIR)
    if not data_dir or target_name != os.environ.get(ENV_TARGET) or start(data_dir) is None:
        return lambda: None

    def on_term(signum, frame):
        save()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    last = [time.monotonic()]

    def tick():
        if time.monotonic() - last[0] > SAVE_EVERY_S:
            save()
            last[0] = time.monotonic()
    return tick


# As a pytest plugin (`-p conformance.oracle_coverage`, in the controller and every xdist worker):
# measuring starts before the suite's conftest is loaded, so tf_keras' module-level lines count too.
def pytest_load_initial_conftests(early_config, parser, args):
    if os.environ.get(ENV_DIR) and os.environ.get(ENV_TARGET):
        start(os.environ[ENV_DIR])


_last_save = [time.monotonic()]


def pytest_runtest_logfinish(nodeid, location):
    if time.monotonic() - _last_save[0] > SAVE_EVERY_S:  # a suite stopped at its time limit keeps most
        save()
        _last_save[0] = time.monotonic()


def pytest_unconfigure(config):
    save()


# ---- combining and reading -----------------------------------------------------------------------
def combine(data_dir):
    """Merge the processes' data files into data_dir/.coverage (added to what a resumed run had)."""
    import coverage
    cov = coverage.Coverage(data_file=os.path.join(data_dir, DATA_NAME), branch=True, config_file=False)
    cov.load()
    parts = glob.glob(os.path.join(data_dir, DATA_NAME + ".*"))
    if parts:
        cov.combine(parts)
        cov.save()
        _add_processes(data_dir, len(parts))
    return cov


def _add_processes(data_dir, count):
    path = os.path.join(data_dir, "processes.txt")
    with open(path, "a") as f:
        f.write(f"{count}\n")


def _processes(data_dir):
    """How many process data files were combined into data_dir/.coverage so far."""
    try:
        with open(os.path.join(data_dir, "processes.txt")) as f:
            return sum(int(line) for line in f if line.strip())
    except (OSError, ValueError):
        return None


def summarize(data_dir, root=None):
    """results.json's `oracle_coverage` from the data in data_dir (combined first), or None where
    nothing was measured."""
    root = root or tf_keras_root()
    cov = combine(data_dir)
    measured = cov.get_data().measured_files()
    if not measured or root is None:
        return None
    report_path = os.path.join(data_dir, "coverage.json")
    cov.json_report(outfile=report_path, include=_include(root), ignore_errors=True)
    with open(report_path) as f:
        files = json.load(f)["files"]
    by_rel = {}
    for path, data in files.items():
        rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
        by_rel[rel] = data
    catalog = direct_error_paths()
    contract = [file_summary(root, rel, by_rel.get(rel), catalog) for rel in CONTRACT_FILES]
    outside = [file_summary(root, rel, by_rel.get(rel), catalog) for rel in OUTSIDE_FILES]
    return {"tf_keras": root, "processes": _processes(data_dir), "contract": _totals(contract),
            "outside": _totals(outside), "files": contract, "outside_files": outside,
            "categories": CATEGORIES}


def _totals(files):
    keys = ("lines_covered", "lines_total", "branches_covered", "branches_total", "raises_reached", "raises_total",
            "gaps", "explained")
    totals = {k: sum(f[k] for f in files) for k in keys}
    totals["percent"] = _percent(totals)
    return totals


def _percent(d):
    total = d["lines_total"] + d["branches_total"]
    return round(100.0 * (d["lines_covered"] + d["branches_covered"]) / total, 1) if total else None


# ---- shards --------------------------------------------------------------------------------------
def merge(summaries):
    """One `oracle_coverage` from several runs' (shards of `rnnconf check`): a line or branch is
    covered where any run covered it, a raise reached where any run reached it. Runs that measured
    another tf_keras (a file's totals differ from the first run's) are left out; None where no run
    measured."""
    runs = [s for s in summaries if isinstance(s, dict) and isinstance(s.get("files"), list)]
    if not runs:
        return None
    first = runs[0]

    def same_source(run):  # and from a version of rnnconf that records every missing line
        return all("missing_lines" in f for f in run["files"]) and all([(f["file"], f["lines_total"], f["branches_total"]) for f in run.get(key) or []]
                   == [(f["file"], f["lines_total"], f["branches_total"]) for f in first.get(key) or []]
                   for key in ("files", "outside_files"))
    runs = [r for r in runs if same_source(r)]
    merged = {k: v for k, v in first.items() if k not in ("files", "outside_files", "contract", "outside")}
    for key, totals in (("files", "contract"), ("outside_files", "outside")):
        files = [_merge_file([r[key][i] for r in runs]) for i in range(len(first.get(key) or []))]
        merged[key], merged[totals] = files, _totals(files)
    processes = [r.get("processes") for r in runs]
    merged["processes"] = sum(processes) if all(isinstance(p, int) for p in processes) else None
    merged["runs"] = len(runs)
    return merged


def _merge_file(entries):
    """One file's summary from several runs' of the same source."""
    first = entries[0]
    merged = dict(first)
    merged["ran"] = any(e.get("ran") for e in entries)
    missing = set(first["missing_lines"])
    for e in entries[1:]:
        missing &= set(e["missing_lines"])
    merged["missing_lines"] = sorted(missing)
    merged["lines_covered"] = first["lines_total"] - len(missing)
    # Two missing lines are in one range of the union where every run has them in one range (any
    # statement between them that a run covered splits that run's range); the merged range starts
    # where one run's range starts, whose reason it keeps.
    ranges = first["missing_ranges"]
    for e in entries[1:]:
        ranges = [dict(r if r["lines"][0] >= o["lines"][0] else o,
                       lines=[max(r["lines"][0], o["lines"][0]), min(r["lines"][1], o["lines"][1])])
                  for r in ranges for o in e["missing_ranges"]
                  if max(r["lines"][0], o["lines"][0]) <= min(r["lines"][1], o["lines"][1])]
    merged["missing_ranges"] = ranges
    branches = first["missing_branches"]
    for e in entries[1:]:
        other = {(b["from"], b["to"]) for b in e["missing_branches"]}
        branches = [b for b in branches if (b["from"], b["to"]) in other]
    merged["missing_branches"] = branches
    merged["branches_covered"] = first["branches_total"] - len(branches)
    reached = {r["line"] for e in entries for r in e["raises"] if r["reached"]}
    merged["raises"] = [{k: v for k, v in r.items() if k not in ("category", "reason")} | {"reached": True}
                        if r["line"] in reached else r for r in first["raises"]]
    merged["raises_reached"] = sum(r["reached"] for r in merged["raises"])
    return _count_unreached(merged)


# ---- one file ------------------------------------------------------------------------------------
def file_summary(root, rel, data, catalog):
    """Lines, branches and raises of one file (of backend.py: its function `rnn`); `data` is the file's
    entry of coverage's JSON report, None where the file never ran (then nothing of it is reached)."""
    path = os.path.join(root, rel)
    with open(path) as f:
        source = f.read()
    tree = ast.parse(source)
    lines = source.splitlines()
    span = _function_span(tree, BACKEND_FUNCTION) if rel == BACKEND_FILE else None
    statements = _statements(path) if data is None else set(data["executed_lines"]) | set(data["missing_lines"])
    executed = set(data["executed_lines"]) if data else set()
    branches_hit = [tuple(b) for b in data.get("executed_branches", [])] if data else []
    branches_missed = [tuple(b) for b in data.get("missing_branches", [])] if data else _all_branches(path)

    def inside(line):
        return span is None or span[0] <= line <= span[1]
    statements = sorted(line for line in statements if inside(line))
    executed &= set(statements)
    branches_hit = [b for b in branches_hit if inside(b[0])]
    branches_missed = sorted(b for b in branches_missed if inside(b[0]))
    missing = [line for line in statements if line not in executed]
    scopes = _Scopes(tree, lines)
    raises = []
    for node in _raises(tree):
        if not inside(node.lineno):
            continue
        exc = _exception(node, tree)
        raises.append({"line": node.lineno, "function": scopes.qualname(node.lineno), "class": _raised_class(exc),
                       "source": ast.get_source_segment(source, node).split("\n")[0],
                       "reached": node.lineno in executed, "err": match_error_path(exc, rel, catalog)})
    for r in raises:
        r.update(_explain(rel, r["line"], scopes) if not r["reached"] else {})
    ranges = [{"lines": [a, b], "function": scopes.qualname(a), **_explain(rel, a, scopes)}
              for a, b in _ranges(statements, missing)]
    branches = [{"from": a, "to": b, "function": scopes.qualname(a), **_explain(rel, a, scopes)}
                for a, b in branches_missed]
    summary = {"file": rel, "function": BACKEND_FUNCTION if span else None, "ran": data is not None,
               "lines_covered": len(executed), "lines_total": len(statements),
               "branches_covered": len(branches_hit), "branches_total": len(branches_hit) + len(branches_missed),
               "raises_reached": sum(r["reached"] for r in raises), "raises_total": len(raises),
               "missing_lines": missing, "missing_ranges": ranges, "missing_branches": branches, "raises": raises}
    return _count_unreached(summary)


def _count_unreached(summary):
    unreached = summary["missing_ranges"] + summary["missing_branches"] + [r for r in summary["raises"]
                                                                            if not r["reached"]]
    summary["gaps"] = sum(1 for item in unreached if item["category"] == "gap")
    summary["explained"] = len(unreached) - summary["gaps"]
    summary["percent"] = _percent(summary)
    return summary


def _statements(path):
    """Executable lines of a file that never ran (coverage's own parser)."""
    from coverage.python import PythonParser
    parser = PythonParser(filename=path)
    parser.parse_source()
    return set(parser.statements)


def _all_branches(path):
    from coverage.python import PythonParser
    parser = PythonParser(filename=path)
    parser.parse_source()
    exits = parser.exit_counts()
    return [arc for arc in parser.arcs() if exits.get(arc[0], 0) > 1]


def _function_span(tree, name):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return first, node.end_lineno
    raise LookupError(f"no function {name}")


def _ranges(statements, missing):
    """Missing statements as [first, last] line ranges, consecutive in statement order."""
    index = {line: i for i, line in enumerate(statements)}
    ranges = []
    for line in missing:
        if ranges and index[line] == index[ranges[-1][1]] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return ranges


def _raises(tree):
    return sorted((n for n in ast.walk(tree) if isinstance(n, ast.Raise)), key=lambda n: n.lineno)


class _Scopes:
    """For a line: its enclosing function's qualified name, and the headers of the statements that
    enclose it (what UNREACHABLE's `under` is looked for in)."""

    def __init__(self, tree, lines):
        self.lines = lines
        self.nodes = []  # (first, last, node, qualname)

        def walk(node, names):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qual = names + [child.name]
                    self.nodes.append((child.lineno, child.end_lineno, child, ".".join(qual)))
                    walk(child, qual)
                elif isinstance(child, ast.stmt):
                    self.nodes.append((child.lineno, child.end_lineno, child, ".".join(names)))
                    walk(child, names)
                else:
                    walk(child, names)
        walk(tree, [])

    def qualname(self, line):
        best = ""
        for first, last, node, qual in self.nodes:
            if first <= line <= last and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                best = qual
        return best

    def headers(self, line):
        """The headers of the compound statements around `line`, outermost first, then the line's text."""
        texts = []
        for first, last, node, _ in self.nodes:
            if first <= line <= last and hasattr(node, "body"):
                end = node.body[0].lineno - 1 if node.body else first
                texts.append("\n".join(self.lines[first - 1:max(first, end)]))
        return texts + [self.lines[line - 1]]


def _explain(rel, line, scopes):
    """{"category", "reason"} of the UNREACHABLE row that explains a missing line, or a gap. Where
    several rows match, the one whose `under` text is in the innermost statement wins (a GPU branch
    inside the else of a switched-off one is a GPU branch); rows without `under` come last."""
    qual = scopes.qualname(line)
    headers = scopes.headers(line)
    best, depth = None, -2
    for file, where, under, category, why in UNREACHABLE:
        if file not in ("*", rel) or not re.fullmatch(where, qual):
            continue
        found = -1 if under is None else max((i for i, text in enumerate(headers) if under in text), default=-2)
        if found > depth:
            best, depth = {"category": category, "reason": why}, found
    return best or {"category": "gap", "reason": None}


# ---- raise statements and the error catalogue ----------------------------------------------------
_TEMPLATE_FIELD = re.compile(r"\{[^}]*\}|…|\.\.\.")
_SAME_AS = re.compile(r"^same (?:text )?as (ERR-\d\d)")
MIN_LITERAL = 12  # characters of a message template's literal text a raise must share to match it


def direct_error_paths():
    """error-paths.md's direct rows: [(ERR ID, class, the literal fragments of its message template)],
    read through conformance.clauses; "same text as ERR-xx" takes that row's fragments."""
    from .clauses import _ERR_ROW, SPEC_DIR
    rows = {}
    for line in (SPEC_DIR / "error-paths.md").read_text().splitlines():
        m = _ERR_ROW.match(line)
        if not m or m.group(2) != "direct":
            continue
        cid, _, cls, message, _ = m.groups()
        same = _SAME_AS.match(message)
        if same:
            fragments = rows[same.group(1)][1]
        else:
            fragments = [f for f in (_words(part) for part in _TEMPLATE_FIELD.split(_code_span(message))) if f]
        rows[cid] = (cls, fragments)
    return [(cid, cls, fragments) for cid, (cls, fragments) in rows.items()]


def _code_span(cell):
    """The message template of an error-paths.md cell: its first code span (`...` or `` ... ``);
    empty for an *(empty message)*."""
    m = re.match(r"``\s(.*?)\s``", cell) or re.match(r"`([^`]*)`", cell)
    return m.group(1) if m else ""


def _words(text):
    return " ".join(re.sub(r"\\n|[`\\]", " ", text).split())


def _exception(node, tree):
    """The expression a raise raises: for `raise name`, the value last assigned to `name` before it
    in the same function (tf_keras builds some errors first and raises them later)."""
    exc = node.exc
    if not isinstance(exc, ast.Name):
        return exc
    value = None
    for sub in ast.walk(tree):
        if (isinstance(sub, ast.Assign) and sub.lineno < node.lineno and len(sub.targets) == 1
                and isinstance(sub.targets[0], ast.Name) and sub.targets[0].id == exc.id):
            if value is None or sub.lineno > value.lineno:
                value = sub
    return value.value if value is not None else exc


def _raised_class(exc):
    if exc is None:
        return "(re-raise)"
    if isinstance(exc, ast.Call):
        exc = exc.func
    return ast.unparse(exc).split(".")[-1]


def _raise_text(exc):
    """The string literals of a raised exception, joined (f-strings' literal parts only)."""
    parts = [sub.value for sub in ast.walk(exc) if isinstance(sub, ast.Constant) and isinstance(sub.value, str)]
    return _words(" ".join(parts))


def _in_order(fragments, text):
    at = 0
    for fragment in fragments:
        at = text.find(fragment, at)
        if at < 0:
            return False
        at += len(fragment)
    return True


# Raises whose message the catalogue shares between paths that differ by the layer's file.
_BY_FILE = {"ERR-19": "layers/rnn/simple_rnn.py", "ERR-20": "layers/rnn/gru.py", "ERR-21": "layers/rnn/lstm.py",
            "ERR-24": "layers/rnn/abstract_rnn_cell.py"}


def match_error_path(exc, rel, catalog):
    """The ERR IDs (error-paths.md, direct rows) a raised exception belongs to, or []: those of its
    class whose message template's literal fragments occur, in order, among its string literals
    (at least MIN_LITERAL characters of them; an empty template matches an exception without a
    message). ERR-04 and ERR-05 share one message, so their raises belong to both."""
    cls, text = _raised_class(exc), _raise_text(exc) if exc is not None else ""
    hits = []
    for cid, err_cls, fragments in catalog:
        if err_cls != cls or _BY_FILE.get(cid, rel) != rel:
            continue
        if not fragments:
            if not text:
                hits.append(cid)
        elif sum(map(len, fragments)) >= MIN_LITERAL and _in_order(fragments, text):
            hits.append(cid)
    return hits


# ---- the check's side ----------------------------------------------------------------------------
def data_dir_of(out):
    return os.path.abspath(os.path.join(out, "oracle-coverage"))


class measuring:
    """`with measuring(out, oracle):` every process started inside (the suite, the fuzz workers)
    that runs `oracle` measures itself into DIR/oracle-coverage/ (the environment tells it)."""

    def __init__(self, out, oracle):
        self.values = {ENV_DIR: data_dir_of(out), ENV_TARGET: oracle}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.makedirs(self.values[ENV_DIR], exist_ok=True)
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def unavailable():
    """Why measuring cannot work here (one line), or None."""
    if importlib.util.find_spec("coverage") is None:
        return "--oracle-coverage needs coverage.py (pip install coverage)"
    if tf_keras_root() is None:
        return "--oracle-coverage measures tf_keras, which is not installed"
    return None


def suite_arguments():
    """pytest arguments that make the suite's processes measure themselves, while `measuring`."""
    return ["-p", "conformance.oracle_coverage"] if os.environ.get(ENV_DIR) else []
