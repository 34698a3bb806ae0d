"""The columns of a clause-by-implementation matrix, as plain data: what `rnnconf report A B` shows
side by side and what `rnnconf scoreboard` writes to scoreboard.json.

A column is JSON-able and shaped like a (slim) results.json, so reports.diff compares two columns
(a scoreboard and its --previous one) exactly as it compares two runs:

  {"name", "package", "version", "label",       # label: "keras3-jax@3.15.1"
   "versions", "oracle", "seed", "shards", "link", "error",   # error: why it did not run, or None
   "verdict": [css class, words],
   "clauses": {cid: {"status", "checks", "failures", "unsupported", "inconclusive",
                     # and a count per judge.NOT_FAILING status that has any: "lenient": 3
                     }},
   "discrepancies": [{"id", "kind", "clauses", "signature", "xfail"}],
   "suite": {"failed_tests": [{"test", "clauses"}]},
   "summary": {"statuses": {status: clauses}, "discrepancies", "root_causes", "suite_failures", "examples",
               "examples_per_s", "conversions"}}    # conversions: models a converter target converted
"""
from . import diff as diffs
from . import model
from rnnconf.adapters.namespaces import SHORT_NAMES
from rnnconf.adapters import targets

DID_NOT_RUN = "did not run"
_COUNTS = ("checks", "failures", "unsupported", "inconclusive")


def main_package(implementation):
    """The package whose version names an implementation: `keras` for keras3 and its targets,
    `tf_keras`, `mypkg` for `mypkg.rnn`, `rnnconf` for the reference (rnnconf.impl)."""
    name = implementation or ""
    if name in targets.TARGETS:
        if targets.TARGETS[name].package:
            return targets.TARGETS[name].package
        name = targets.TARGETS[name].impl
    name = (targets.split_remote(name) or (name,))[0]
    return SHORT_NAMES.get(name, name).partition(":")[0].split(".")[0]


def main_version(results):
    """(package, version) of the implementation; a target's own environment keys its packages
    "package (target)" where the oracle's environment has another version (merge_versions)."""
    impl = results.get("implementation") or ""
    package = main_package(impl)
    versions = results.get("versions") or {}
    version = versions.get(f"{package} ({impl})") or versions.get(package)
    return package, (None if version in (None, "unversioned") else str(version))


def examples_per_s(results):
    """Fuzzed examples per second of the fuzzing stage (of the whole run where stages are missing)."""
    seconds = (results.get("stages") or {}).get("fuzz") or results.get("elapsed_s")
    examples = results.get("examples") or 0
    return round(examples / seconds, 1) if seconds else None


def column(results, name=None, link=None, error=None):
    """One column from a results dict ({} or None for a target that did not run: give `error`)."""
    results = results or {}
    name = name or results.get("implementation") or "unknown"
    package, version = main_version(dict(results, implementation=results.get("implementation") or name))
    groups = model.clause_rows(results) if results else []
    rows = [r for _, _, rs in groups for r in rs]
    tests = [t for t in (results.get("suite") or {}).get("failed_tests") or [] if isinstance(t, dict)]
    discrepancies = results.get("discrepancies") or []
    entries = results.get("clauses") or {}
    return {
        "name": name, "package": package, "version": version,
        "label": f"{name}@{version}" if version else name,
        "versions": dict(results.get("versions") or {}), "oracle": results.get("oracle"),
        "seed": results.get("seed"), "shards": results.get("shards"), "link": link, "error": error,
        "verdict": list(model.verdict(results)) if error is None else ["untested", DID_NOT_RUN],
        "clauses": {r["id"]: {"status": r["status"], **{k: (entries.get(r["id"]) or {}).get(k, 0) for k in _COUNTS},
                              **r["not_failing"]}  # judge.NOT_FAILING counts, where there are any
                    for r in rows} if error is None else {},
        "discrepancies": [{"id": str(d.get("id") or f"d-{i:04d}"), "kind": d.get("kind"),
                           "clauses": list(d.get("clauses") or []), "signature": d.get("signature"),
                           "xfail": bool(d.get("xfail"))}
                          for i, d in enumerate(discrepancies, 1)],
        "suite": {"failed_tests": [{"test": t.get("test"), "clauses": list(t.get("clauses") or [])}
                                   for t in tests]},
        "summary": {"statuses": model.status_counts(groups) if error is None else {},
                    "discrepancies": len(discrepancies), "suite_failures": len(tests),
                    "root_causes": (len(results["root_causes"]) if isinstance(results.get("root_causes"), list)
                                    else None),
                    "examples": results.get("examples") or 0, "examples_per_s": examples_per_s(results),
                    "conversions": results.get("conversions") or 0},
    }


def changes(previous, columns):
    """name -> what changed in that column since `previous` (an earlier scoreboard dict): reports.diff
    of the two columns ("status": "compared"), or only a "status" where there is nothing to compare."""
    before = {c.get("name"): c for c in (previous or {}).get("columns") or [] if isinstance(c, dict)}
    out = {}
    for c in columns:
        old = before.get(c["name"])
        if c["error"] is not None:
            out[c["name"]] = {"status": DID_NOT_RUN}
        elif old is None or old.get("error") is not None:
            out[c["name"]] = {"status": "new" if old is None else "previously did not run"}
        else:
            out[c["name"]] = dict(diffs.diff(old, c), status="compared", previous_label=old.get("label"))
    return out
