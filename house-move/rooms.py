"""Room-to-room import arrows of an rnnconf checkout (new layout): top-level and function-local."""
import ast, pathlib, sys, collections
ROOMS = {"impl": "impl", "engine": "engine", "adapters": "adapters", "conformance": "conformance",
         "fuzz": "fuzz", "reports": "reports", "rnnconf": "rnnconf"}
def room_of_module(m):
    p = m.split(".")
    if p[0] != "rnnconf": return None
    if len(p) == 1: return "rnnconf"
    if p[1] == "conformance" and len(p) > 2 and p[2] == "spec": return "spec"
    return p[1] if p[1] in ROOMS else "rnnconf"
def room_of_file(f):
    parts = f.parts
    if parts[0] == "conformance" and len(parts) > 1 and parts[1] == "spec": return "spec"
    return parts[0] if parts[0] in ROOMS else None
arrows = collections.defaultdict(list)
local = []
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
for f in sorted(root.rglob("*.py")):
    rel = f.relative_to(root)
    src_room = room_of_file(rel)
    if src_room is None or "samples" in rel.parts: continue
    tree = ast.parse(f.read_text())
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inner = {id(x) for fn in funcs for x in ast.walk(fn) if isinstance(x, (ast.Import, ast.ImportFrom))}
    pkg = ".".join(["rnnconf"] + list(rel.parts[:-1])) if rel.parts[0] != "rnnconf" else ".".join(rel.parts[:-1])
    for n in ast.walk(tree):
        mods = []
        if isinstance(n, ast.Import): mods = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                mods = [".".join(base + ([n.module] if n.module else []))]
                if not n.module: mods = [mods[0] + "." + a.name for a in n.names]
            else:
                mods = [n.module] + [n.module + "." + a.name for a in n.names]
        for m in mods:
            r = room_of_module(m)
            if r and r != src_room:
                arrows[(src_room, r)].append(f"{rel}:{n.lineno}" + (" (local)" if id(n) in inner else ""))
            if id(n) in inner and r:
                local.append(f"{rel}:{n.lineno} {m}")
for (a, b), where in sorted(arrows.items()):
    print(f"{a:12} -> {b:12} {len(where):3}  " + ", ".join(sorted(set(w for w in where if 'local' in w)))[:300])
print("function-local imports of rnnconf modules:", len(set(local)))
