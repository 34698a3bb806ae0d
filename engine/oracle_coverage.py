"""Which lines, branches and `raise` statements of the oracle's RNN code a check reaches (coverage.py).

`rnnconf check --oracle-coverage` sets ENV_DIR (the data folder) and ENV_TARGET (the oracle's name).
Every process that runs the oracle then measures itself and writes its own data file there:
  - the suite's pytest processes (controller and xdist workers) load this module as a plugin
    (`-p rnnconf.engine.oracle_coverage`) and start measuring before the suite's conftest is loaded;
  - a fuzz worker child (adapters/worker_child.py) whose target is the oracle calls `start_in_worker`.
`combine` merges the data files; `summarize` turns them into results.json's `oracle_coverage`: per
file, lines and branches covered out of total, the uncovered line ranges, the missing branches and
every `raise` with whether it was reached and the ERR ID of error-paths.md it belongs to.

Measured: tf_keras' `layers/rnn/` and `backend.py`. The contract's files (CONTRACT_FILES) are the
ones that implement RNN, SimpleRNN, GRU, LSTM, their cells, StackedRNNCells and their mixins and
utilities; of backend.py only the function `rnn` counts. The other RNN files (Bidirectional,
ConvLSTM, TimeDistributed, the legacy and cuDNN-only layers) are reported apart (OUTSIDE_FILES).
What cannot run on a CPU machine with one process is explained in UNREACHABLE (oracle_unreachable.py), the one table of reasons;
which raise is which error path, in oracle_error_paths.py.
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

from .oracle_error_paths import _exception, _raised_class, direct_error_paths, match_error_path
from .oracle_unreachable import CATEGORIES, UNREACHABLE


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


# As a pytest plugin (`-p rnnconf.engine.oracle_coverage`, in the controller and every xdist worker):
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
    return ["-p", "rnnconf.engine.oracle_coverage"] if os.environ.get(ENV_DIR) else []
