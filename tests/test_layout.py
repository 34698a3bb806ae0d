"""The house: rooms by stage, imports pointing one way, no fake modules, every package shipped.

Rooms (folders at the top of the repository, subpackages of rnnconf when installed):
  conformance/spec  the contract as data          engine    runs a case and judges it
  adapters          reaches an implementation     impl      the reference (imports no other room)
  conformance       the suite                     fuzz      generation and campaigns
  reports           pages, JUnit, scoreboards, reproducers   rnnconf   the command line
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each room may import (every import, function-local ones included).
ALLOWED = {
    "spec": set(),
    "impl": set(),
    "engine": {"spec"},
    "adapters": {"engine", "spec"},
    "conformance": {"adapters", "engine", "spec"},
    "fuzz": {"adapters", "engine", "spec"},
    "reports": {"adapters", "engine", "spec"},
    "rnnconf": {"adapters", "engine", "spec", "conformance", "fuzz", "reports"},
}


def _room_of_file(path):
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("conformance", "spec"):
        return "spec"
    return parts[0] if parts[0] in ALLOWED else None


def _room_of_module(name):
    parts = name.split(".")
    if parts[0] != "rnnconf" or len(parts) == 1:
        return None
    if parts[1:3] == ["conformance", "spec"]:
        return "spec"
    return parts[1] if parts[1] in ALLOWED else "rnnconf"


def _package_of(path):
    parts = path.relative_to(ROOT).parts[:-1]
    return ".".join(parts if parts[0] == "rnnconf" else ("rnnconf",) + parts)


def _imports(path, text=None):
    """Absolute names of every rnnconf module or package `path` imports, with their lines."""
    tree = ast.parse(path.read_text() if text is None else text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(path).split(".")
                base = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _sources():
    return [p for room in ("impl", "engine", "adapters", "conformance", "fuzz", "reports", "rnnconf")
            for p in sorted((ROOT / room).rglob("*.py"))]


def _upward(path, text=None):
    room = _room_of_file(path)
    for line, name in _imports(path, text):
        target = _room_of_module(name)
        if target is not None and target != room and target not in ALLOWED[room]:
            yield f"{path.relative_to(ROOT)}:{line} imports {name} ({room} -> {target})"


def test_imports_point_one_way():
    assert [w for path in _sources() for w in _upward(path)] == []


def test_the_rule_sees_an_upward_import():
    """Not vacuous: the engine importing the fuzzer, inside a function or not, is caught."""
    code = "def f():\n    from rnnconf.fuzz import strategies\n"
    assert list(_upward(ROOT / "engine" / "cases.py", code)) == [
        "engine/cases.py:2 imports rnnconf.fuzz (engine -> fuzz)",
        "engine/cases.py:2 imports rnnconf.fuzz.strategies (engine -> fuzz)"]


def _local_imports(path, text=None):
    """rnnconf's own modules imported inside a function of `path` (a relative import is one), except
    under `try: ... except ImportError` (an optional part): where such an import stands, the top
    would do unless it dodges a cycle."""
    tree = ast.parse(path.read_text() if text is None else text)
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError",
                                                                                          "ModuleNotFoundError")
                                             for h in node.handlers):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            own = (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "rnnconf")
                   or isinstance(node, ast.Import) and any(a.name.split(".")[0] == "rnnconf" for a in node.names))
            if own and id(node) not in optional:
                yield f"{path.relative_to(ROOT)}:{node.lineno}"


def test_no_function_imports_rnnconf():
    """rnnconf's modules import each other at the top: no import inside a function to dodge a cycle
    (third-party frameworks, imported where they are used, are another matter)."""
    assert sorted({line for path in _sources() for line in _local_imports(path)}) == []


def test_the_local_import_rule_sees_one():
    code = ("def f():\n    from .judge import signature\n\n\ndef g():\n    import tensorflow\n"
            "    from rnnconf.engine import execute\n\n\ndef h():\n    try:\n        from rnnconf.reports import x\n"
            "    except ImportError:\n        pass\n")
    assert list(_local_imports(ROOT / "engine" / "cases.py", code)) == ["engine/cases.py:2", "engine/cases.py:7"]


def test_nothing_imports_a_folder_by_its_own_name():
    """`rnnconf.impl`, never `impl`: in a checkout the folders are on the path too, so an import by the
    folder's name would work here and fail installed."""
    folders = {"impl", "engine", "adapters", "conformance", "fuzz", "reports"}
    found = [f"{path.relative_to(ROOT)}:{line} {name}"
             for path in _sources() + sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
             for line, name in _imports(path) if name.split(".")[0] in folders]
    assert found == []


def test_no_module_writes_sys_modules():
    writes = []
    for path in _sources():
        text = path.read_text()
        for m in re.finditer(r"sys\.modules\s*\[[^\]]+\]\s*=|sys\.modules\.(setdefault|update)\(", text):
            writes.append(f"{path.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}")
    assert writes == []


def test_no_module_over_500_lines_outside_tests():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _sources() if not p.name.startswith(("test_", "conftest"))
            and (n := len(p.read_text().splitlines())) > 500]
    assert long == []


@pytest.fixture(scope="module")
def pyproject():
    import tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_import_root_and_every_package_shipped(pyproject):
    """Installed, rnnconf is one name: every folder mapped under rnnconf, and every package of those
    folders (a folder with __init__.py) listed, so none is left out of the wheel."""
    setuptools = pyproject["tool"]["setuptools"]
    mapping = setuptools["package-dir"]
    assert all(name == "rnnconf" or name.startswith("rnnconf.") for name in mapping)
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package,) + rel))
    assert sorted(found) == sorted(setuptools["packages"])


MAPPED_ROOMS = ("rnnconf", "conformance", "fuzz", "reports", "adapters", "engine", "impl")


@pytest.mark.parametrize("room", MAPPED_ROOMS)
def test_each_rooms_map_names_its_modules(room):
    """A room's __init__ docstring is its module map: every module of the room is in it."""
    package = ROOT / room
    mapped = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    modules = [p.stem for p in package.glob("*.py") if p.stem != "__init__" and not p.stem.startswith("test_")]
    assert [m for m in modules if m not in mapped] == []
