#!/usr/bin/env python3
"""The house move of rnnconf: rooms by stage under one import root, `rnnconf`.

Usage, at the root of a clean checkout of the old layout (any commit descending from 4fb8e50):

    python3 /work/house/move.py            # moves, rewrites and stages everything (git add)
    python3 /work/house/move.py --commit   # the same, then commits it as one "Move: ..." commit

It refuses (exit 2, one line) when the work tree is not clean or the move is already applied.

What it does, mechanically, with nothing but the old tree as input:
1. every import of every tracked .py file (ast positions; relative imports resolved) is rewritten to the
   new module paths, and so are imports and moved module paths inside string literals and comments
   (subprocess code, docstrings), found with tokenize;
2. path mentions of moved files in every tracked text file (Markdown, TOML, Makefile, workflows) follow;
3. `git mv` of the modules into their rooms, the sample reports to docs/samples/;
4. pyproject.toml: one import root by a package-dir mapping; rnnconf/__init__.py maps the stage folders
   under `rnnconf` in a source checkout;
5. a few known spots that compute paths from __file__ (listed in PATCHES) are patched; each patch
   that finds nothing to patch is reported (never silently skipped).
"""
import ast
import io
import os
import re
import subprocess
import sys
import tokenize

# ---- the rooms -----------------------------------------------------------------------------------------
# Modules that change room (old dotted path -> new); everything else under an old top-level package
# keeps its place under `rnnconf.` (PREFIXES).
MOVES = {
    # what runs a case and judges it
    "conformance.cases": "rnnconf.engine.cases",
    "conformance.custom_cells": "rnnconf.engine.custom_cells",
    "conformance.execute": "rnnconf.engine.execute",
    "conformance.compare": "rnnconf.engine.compare",
    "conformance.judge": "rnnconf.engine.judge",
    "conformance.results": "rnnconf.engine.results",
    "conformance.dropout": "rnnconf.engine.dropout",
    "conformance.capabilities": "rnnconf.engine.capabilities",
    "conformance.error_catalog": "rnnconf.engine.error_catalog",
    # the contract as data, beside its Markdown
    "conformance.clauses": "rnnconf.conformance.spec.clauses",
    "conformance.deviations": "rnnconf.conformance.spec.deviations",
    # what reaches an implementation
    "conformance.namespaces": "rnnconf.adapters.namespaces",
    "fuzz.worker": "rnnconf.adapters.worker",
    "fuzz.worker_child": "rnnconf.adapters.worker_child",
    "rnnconf.targets": "rnnconf.adapters.targets",
    "rnnconf.converters": "rnnconf.adapters.converters",
    # reproducers are a report
    "fuzz.repro": "rnnconf.reports.repro",
}
PREFIXES = {"impl": "rnnconf.impl", "conformance": "rnnconf.conformance", "fuzz": "rnnconf.fuzz",
            "reports": "rnnconf.reports", "rnnconf": "rnnconf"}
OURS = tuple(PREFIXES)
# New package -> its folder at the top of the repository (a newcomer sees the stages there).
ROOM_DIRS = {"rnnconf": "rnnconf", "rnnconf.impl": "impl", "rnnconf.conformance": "conformance",
             "rnnconf.fuzz": "fuzz", "rnnconf.reports": "reports", "rnnconf.engine": "engine",
             "rnnconf.adapters": "adapters"}
NEW_PACKAGES = {
    "engine/__init__.py": '"""What runs a case and judges it: the engine the suite, the fuzzer and the reproducers share."""\n',
    "adapters/__init__.py": '"""What reaches an implementation: namespaces and adapters, worker processes, target environments, converters."""\n',
    "conformance/spec/__init__.py": '"""The contract: its Markdown (clauses.md, error-paths.md, interfaces.md) and its data as Python."""\n',
}
DIR_MOVES = {"reports/samples": "docs/samples"}  # not Python: moved as folders, paths rewritten
SKIP_REWRITE = ("reports/samples/", "docs/samples/")  # generated artefacts, regenerated later
ROOT_INIT = '''"""rnnconf: a conformance suite and differential fuzzer for tf.keras.layers.RNN (Keras 2).

One import root. Installed, the stage folders are subpackages of rnnconf (pyproject.toml's
package-dir). In a source checkout they sit beside this folder at the top of the repository, so
rnnconf's package path also names the checkout: rnnconf.impl is impl/, rnnconf.engine is engine/.
"""
import os

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_CHECKOUT, "pyproject.toml")) and _CHECKOUT not in __path__:
    __path__.append(_CHECKOUT)
'''

# Spots that compute paths from __file__ or name the reference by its old module (file, old, new).
PATCHES = [
    ("conformance/clauses.py", 'SPEC_DIR = Path(__file__).with_name("spec")', 'SPEC_DIR = Path(__file__).parent'),
    ("fuzz/worker.py", "SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))",
     "# The folder that holds the rnnconf package: a checkout's root, or site-packages.\n"
     "SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(rnnconf.__file__)))"),
    ("fuzz/worker.py", "\nfrom rnnconf.engine import execute\n", "\nimport rnnconf\nfrom rnnconf.engine import execute\n"),
    ("rnnconf/cli.py", '    cmd = [sys.executable, "-m", "pytest", "conformance", "-q",',
     '    cmd = [sys.executable, "-m", "pytest", SUITE_DIR, "-q",'),
    ("rnnconf/cli.py", "    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n",
     "    root = SOURCE_ROOT\n"),
    ("rnnconf/cli.py", "\nSUITE_POLL_S = 0.5\n",
     "\nSUITE_POLL_S = 0.5\n# The suite runs from the folder that holds the rnnconf package (a checkout's root, or site-packages).\n"
     "SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n"
     "SUITE_DIR = os.path.relpath(os.path.dirname(os.path.abspath(conformance.__file__)), SOURCE_ROOT)\n"),
    ("tests/test_repro_standalone.py", 'shutil.copytree(ROOT / "impl", site / "impl", ',
     '(site / "rnnconf").mkdir(parents=True)\n    (site / "rnnconf" / "__init__.py").write_text("")\n'
     '    shutil.copytree(ROOT / "impl", site / "rnnconf" / "impl", '),
    ("tests/test_repro_standalone.py", 'importlib.util.find_spec("impl")', 'importlib.util.find_spec("rnnconf.impl")'),
    ("tests/test_repro_standalone.py",
     'for name in ("conformance", "fuzz", "rnnconf", "reports"):\n    assert importlib.util.find_spec(name) is None, f"{name} is importable"\n',
     'for name in ("conformance", "fuzz", "reports", "rnnconf.engine", "rnnconf.adapters", "rnnconf.cli"):\n'
     '    assert importlib.util.find_spec(name) is None, f"{name} is importable"\n'
     'assert importlib.util.find_spec("rnnconf").origin.startswith(site)  # only the copy of the reference\n'),
    ("tests/test_namespaces_protocol.py", "module='impl')", "module='rnnconf.impl')"),
]
CLI_IMPORT = "from rnnconf import conformance\n"


class Refuse(Exception):
    pass


def git(*args, capture=True):
    return subprocess.run(["git", *args], check=True, capture_output=capture, text=True).stdout


# ---- module mapping ------------------------------------------------------------------------------------
def old_modules():
    """Dotted names of every module and package of the old tree under the old top-level packages."""
    found = set()
    for path in git("ls-files").splitlines():
        if not path.endswith(".py") or path.startswith(SKIP_REWRITE) or path.split("/")[0] not in OURS:
            continue
        parts = path[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for i in range(1, len(parts) + 1):
            found.add(".".join(parts[:i]))
    return found


def map_module(name):
    """New dotted path of an old one (None: not one of ours)."""
    if not name or name.split(".")[0] not in OURS:
        return None
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in MOVES:
            return ".".join([MOVES[head]] + parts[i:])
    return ".".join([PREFIXES[parts[0]]] + parts[1:])


def new_path(old_path):
    """New file path of an old .py file of ours."""
    parts = old_path[:-3].split("/")
    init = parts[-1] == "__init__"
    module = map_module(".".join(parts[:-1] if init else parts))
    mparts = module.split(".")
    for i in range(len(mparts), 0, -1):
        head = ".".join(mparts[:i])
        if head in ROOM_DIRS:
            rest = mparts[i:]
            folder = "/".join([ROOM_DIRS[head]] + rest)
            return folder + "/__init__.py" if init else folder + ".py"
    raise AssertionError(old_path)


# ---- import rewriting ----------------------------------------------------------------------------------
class ImportRewriter:
    def __init__(self, modules):
        self.modules = modules

    def is_module(self, name):
        return name in self.modules

    def from_groups(self, base, names):
        """[(new parent, [(name, alias)])] for `from base import names` (base absolute, old)."""
        groups = {}
        for name, alias in names:
            full = f"{base}.{name}"
            if name != "*" and self.is_module(full):
                new = map_module(full)
                parent, last = new.rsplit(".", 1)
                groups.setdefault(parent, []).append((last, alias or (name if last != name else None)))
            else:
                groups.setdefault(map_module(base), []).append((name, alias))
        return list(groups.items())

    @staticmethod
    def render_names(names):
        return ", ".join(n if a is None else f"{n} as {a}" for n, a in names)

    def import_items(self, items, where):
        """`import a, b as c` items -> new items, or None when unchanged."""
        out, changed = [], False
        for name, alias in items:
            new = map_module(name)
            if new is None or new == name:
                out.append((name, alias))
                continue
            if alias is None and "." in name:
                raise Refuse(f"{where}: `import {name}` binds {name.split('.')[0]}; rewrite it by hand first")
            out.append((new, alias or name))
            changed = True
        return out if changed else None


def module_of(path):
    """(old dotted module, is package) of a .py file of ours, or (None, False)."""
    parts = path[:-3].split("/")
    if parts[0] not in OURS:
        return None, False
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def rewrite_imports_ast(path, text, rw):
    tree = ast.parse(text)
    old_mod, is_pkg = module_of(path)
    old_pkg = old_mod if is_pkg else (old_mod.rsplit(".", 1)[0] if old_mod and "." in old_mod else None)
    new_mod = map_module(old_mod) if old_mod else None
    new_pkg = new_mod if is_pkg else (new_mod.rsplit(".", 1)[0] if new_mod else None)
    lines = text.splitlines(keepends=True)
    blines = [ln.encode() for ln in lines]
    edits = []  # (start line, start col, end line, end col, new text) in bytes offsets
    for node in ast.walk(tree):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if old_pkg is None:
                    continue
                base_parts = old_pkg.split(".")
                if node.level - 1 >= len(base_parts) + (0):
                    raise Refuse(f"{where}: relative import beyond the top")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module
            if map_module(base) is None:
                continue
            groups = rw.from_groups(base, [(a.name, a.asname) for a in node.names])
            rendered = []
            for parent, names in groups:
                module = parent
                if node.level and new_pkg is not None:
                    if parent == new_pkg:
                        module = "."
                    elif parent.startswith(new_pkg + "."):
                        module = "." + parent[len(new_pkg) + 1:]
                rendered.append((module, names))
            original_module = "." * node.level + (node.module or "")
            if len(rendered) == 1 and rendered[0][0] == original_module and \
                    [(a.name, a.asname) for a in node.names] == rendered[0][1]:
                continue
            segment = ast.get_source_segment(text, node)
            if len(rendered) == 1 and [(a.name, a.asname) for a in node.names] == rendered[0][1]:
                new_text = re.sub(r"^from\s+[.\w]+", "from " + rendered[0][0], segment, count=1)
            else:
                indent = " " * node.col_offset
                # a trailing comment (`# noqa: E402`) holds for every line of the split
                end_line = text.splitlines()[node.end_lineno - 1]
                comment = end_line.encode()[node.end_col_offset:].decode()
                comment = comment if comment.strip().startswith("#") else ""
                new_text = (comment + "\n" + indent).join(f"from {m} import {ImportRewriter.render_names(n)}"
                                                          for m, n in rendered)
            edits.append((node, new_text))
        elif isinstance(node, ast.Import):
            items = rw.import_items([(a.name, a.asname) for a in node.names], where)
            if items is not None:
                edits.append((node, "import " + ImportRewriter.render_names(items)))
    edits.sort(key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True)
    for node, new_text in edits:
        sl, sc, el, ec = node.lineno - 1, node.col_offset, node.end_lineno - 1, node.end_col_offset
        head = blines[sl][:sc]
        tail = blines[el][ec:]
        blines[sl:el + 1] = [head + new_text.encode() + tail]
    return b"".join(blines).decode()


NAMES = r"(?:\*|\w+(?:\s+as\s+\w+)?(?:\s*,\s*\w+(?:\s+as\s+\w+)?)*)"
DOTTED = r"[A-Za-z_]\w*(?:\.\w+)*"
STRING_IMPORT = re.compile(
    rf"(?:(?<![\w.])|(?<=\\n))from\s+(?P<from>{DOTTED})\s+import\s+(?P<names>{NAMES})"
    rf"|(?:(?<![\w.])|(?<=\\n))import\s+(?P<items>{DOTTED}(?:\s+as\s+\w+)?(?:\s*,\s*{DOTTED}(?:\s+as\s+\w+)?)*)")


def rewrite_import_text(text, rw, where):
    """Import statements inside a string or comment (code handed to a subprocess, examples)."""
    def sub(m):
        if m.group("from"):
            base = m.group("from")
            if map_module(base) is None:
                return m.group(0)
            names = [(p.split(" as ")[0].strip(), (p.split(" as ")[1].strip() if " as " in p else None))
                     for p in re.split(r"\s*,\s*", m.group("names"))]
            names = [(n, a) for n, a in names]
            groups = rw.from_groups(base, names)
            return "; ".join(f"from {p} import {ImportRewriter.render_names(n)}" for p, n in groups)
        items = []
        for p in re.split(r"\s*,\s*", m.group("items")):
            name, _, alias = p.partition(" as ")
            items.append((name.strip(), alias.strip() or None))
        try:
            new = rw.import_items(items, where)
        except Refuse:
            return m.group(0)
        return m.group(0) if new is None else "import " + ImportRewriter.render_names(new)
    return STRING_IMPORT.sub(sub, text)


MOVED_DOTTED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in sorted(MOVES, key=len, reverse=True))
                          + r")(?![\w])")


def rewrite_dotted(text):
    """Moved modules named in prose or strings (`conformance.results.merge_shards`)."""
    return MOVED_DOTTED.sub(lambda m: MOVES[m.group(1)], text)


def path_moves():
    """Old path -> new path of every moved file and folder (for mentions in text)."""
    moves = {}
    for path in git("ls-files").splitlines():
        if path.endswith(".py") and path.split("/")[0] in OURS and not path.startswith(SKIP_REWRITE):
            new = new_path(path)
            if new != path:
                moves[path] = new
    moves["rnnconf/converters/"] = "adapters/converters/"
    moves["rnnconf/converters"] = "adapters/converters"
    for old, new in DIR_MOVES.items():
        moves[old] = new
    return moves


def rewrite_paths(text, moves):
    keys = sorted(moves, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w/.])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w.])"
                         r"|(?<![\w/.])(" + "|".join(re.escape(k) for k in keys if k.endswith(".py")) + r")(?![\w])")
    return pattern.sub(lambda m: moves[m.group(1) or m.group(2)], text)


def rewrite_tokens(path, text, rw, moves):
    """Strings and comments of a .py file: imports, moved dotted names, moved paths."""
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))
    edits = []
    for tok in tokens:
        if tok.type not in (tokenize.STRING, tokenize.COMMENT):
            continue
        new = rewrite_import_text(tok.string, rw, f"{path}:{tok.start[0]}")
        new = rewrite_dotted(new)
        new = rewrite_paths(new, moves)
        new = re.sub(r'("reference":\s*)"impl"', r'\1"rnnconf.impl"', new)
        if new != tok.string:
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            edits.append((start, end, new))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# ---- pyproject ---------------------------------------------------------------------------------------------
def rewrite_pyproject(text, packages):
    block = re.search(r"\[tool\.setuptools\.packages\.find\].*?(?=\n\[tool\.(?!setuptools\.packages\.find))",
                      text, re.S)
    if block is None:
        raise Refuse("pyproject.toml: no [tool.setuptools.packages.find] section")
    data = re.search(r"\[tool\.setuptools\.package-data\]\n(.*?)(?=\n\n|\n\[|\Z)", text, re.S)
    entries = []
    if data:
        for line in data.group(1).splitlines():
            m = re.match(r"\s*\"?([\w.]+)\"?\s*=\s*(\[.*\])\s*$", line)
            if m:
                entries.append(f'"{map_module(m.group(1)) or m.group(1)}" = {m.group(2)}')
    mapping = ", ".join(f'"{pkg}" = "{folder}"' for pkg, folder in ROOM_DIRS.items())
    new_block = (
        "# One import root: installed, every stage folder at the top of the repository is a subpackage of\n"
        "# rnnconf (rnnconf.impl is impl/, ...); in a checkout rnnconf/__init__.py maps them the same way.\n"
        "[tool.setuptools]\n"
        f"package-dir = {{{mapping}}}\n"
        "packages = [\n" + "".join(f'    "{p}",\n' for p in packages) + "]\n")
    if data:
        new_block += ("\n# Read at run time next to the modules: the contract (rnnconf.conformance.spec) and the report\n"
                      "# templates (rnnconf.reports.render). The suite's conftest.py and test_*.py ship as modules, since\n"
                      "# `rnnconf check` runs the installed suite with pytest.\n"
                      "[tool.setuptools.package-data]\n" + "".join(e + "\n" for e in entries))
    start = block.start()
    # the comment lines right above the find section belong to it
    head = text[:start]
    head_lines = head.splitlines(keepends=True)
    while head_lines and head_lines[-1].startswith("#"):
        head_lines.pop()
    end = data.end() if data else block.end()
    return "".join(head_lines) + new_block + text[end:]


def packages_after():
    found = []
    for pkg, folder in ROOM_DIRS.items():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            if "__init__.py" in filenames:
                rel = os.path.relpath(dirpath, folder)
                found.append(pkg if rel == "." else pkg + "." + rel.replace(os.sep, "."))
    return sorted(set(found))


# ---- the move ---------------------------------------------------------------------------------------------
def main(argv):
    commit = "--commit" in argv
    if not os.path.isfile("pyproject.toml") or not os.path.isdir("conformance"):
        raise Refuse("run this at the root of an rnnconf checkout")
    if os.path.isdir("engine") or os.path.isdir("adapters") or not os.path.isfile("conformance/cases.py"):
        raise Refuse("already applied: engine/ or adapters/ exists, or conformance/cases.py is gone")
    if git("status", "--porcelain", "--untracked-files=no").strip():
        raise Refuse("the work tree has uncommitted changes; commit or stash them first")
    modules = old_modules()
    rw = ImportRewriter(modules)
    moves = path_moves()
    tracked = git("ls-files").splitlines()
    # 1-2. contents, at the old paths
    for path in tracked:
        if path.startswith(SKIP_REWRITE) or not os.path.isfile(path):
            continue
        try:
            text = open(path, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        if path.endswith(".py"):
            new = rewrite_imports_ast(path, text, rw)
            new = rewrite_tokens(path, new, rw, moves)
            # the reference's short name, across tokens (SHORT_NAMES = {"reference": "impl", ...})
            new = re.sub(r'("reference":\s*)"impl"', r'\1"rnnconf.impl"', new)
            # paths to the sample reports built from parts (ROOT / "reports" / "samples")
            new = re.sub(r'"reports"(\s*/\s*)"samples"', r'"docs"\1"samples"', new)
        elif path.endswith((".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".html", ".js")) or \
                os.path.basename(path) in ("Makefile", ".gitignore", "run"):
            new = rewrite_paths(rewrite_dotted(text), moves)
        else:
            continue
        if new != text:
            ast.parse(new) if path.endswith(".py") else None
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    # 5. known spots
    missing = []
    for path, old, new in PATCHES:
        text = open(path, encoding="utf-8").read()
        if old not in text:
            missing.append(f"{path}: {old.strip()[:70]!r}")
            continue
        text = text.replace(old, new, 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    cli = open("rnnconf/cli.py", encoding="utf-8").read()
    if "SUITE_DIR" in cli and CLI_IMPORT not in cli:
        # after the last top-level import of the module header
        tree = ast.parse(cli)
        last = max(n.end_lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
        lines = cli.splitlines(keepends=True)
        lines.insert(last, "\n" + CLI_IMPORT)
        open("rnnconf/cli.py", "w", encoding="utf-8").write("".join(lines))
    # 3. the moves
    for path in tracked:
        if path.endswith(".py") and path.split("/")[0] in OURS and not path.startswith(SKIP_REWRITE):
            new = new_path(path)
            if new != path and os.path.exists(path):
                os.makedirs(os.path.dirname(new), exist_ok=True)
                git("mv", path, new)
    for old, new in {"rnnconf/converters": "adapters/converters", **DIR_MOVES}.items():
        if os.path.isdir(old):
            os.makedirs(os.path.dirname(new), exist_ok=True)
            for name in git("ls-files", old).splitlines():
                dest = new + name[len(old):]
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                git("mv", name, dest)
    for path, text in NEW_PACKAGES.items():
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            git("add", path)
    root_init = open("rnnconf/__init__.py", encoding="utf-8").read()
    if root_init.strip():
        missing.append("rnnconf/__init__.py is not empty: its package path was not set; merge ROOT_INIT by hand")
    else:
        open("rnnconf/__init__.py", "w", encoding="utf-8").write(ROOT_INIT)
    # 4. pyproject
    py = open("pyproject.toml", encoding="utf-8").read()
    open("pyproject.toml", "w", encoding="utf-8").write(rewrite_pyproject(py, packages_after()))
    git("add", "-A", ".")
    for line in missing:
        print(f"move.py: not patched, check by hand: {line}", file=sys.stderr)
    if commit:
        git("commit", "-q", "-m", "Move: rooms by stage under one import root, rnnconf\n\n"
            "engine/ (runs and judges a case), adapters/ (reaches an implementation), the contract's data in\n"
            "conformance/spec/, reproducers in reports/, sample reports in docs/samples/. Generated by\n"
            "move.py: imports, strings, paths, pyproject package-dir.", capture=False)
    print("move.py: done" + ("" if commit else " (staged, not committed)"))
    return 1 if missing else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Refuse as e:
        print(f"move.py: {e}", file=sys.stderr)
        sys.exit(2)
