"""Same verdicts before and after: compare two results.json files of the same seeded check.

usage: python compare.py OLD/results.json NEW/results.json
Compares, and prints each difference:
  - every clause's status (and its checks/failures counts, reported separately: informative);
  - the discrepancies as (kind, clauses, fingerprint) multisets, and their signatures;
  - the suite's failed tests (test id, clauses), its exit status and test count;
  - the number of fuzzed examples.
Exit 0 when statuses and discrepancies agree, 1 otherwise.
"""
import json
import sys
from collections import Counter


def load(path):
    with open(path) as f:
        return json.load(f)


def discrepancies(data):
    return Counter((d["kind"], tuple(d.get("clauses", [])), json.dumps(d.get("fingerprint"), sort_keys=True))
                   for d in data["discrepancies"])


def main(old_path, new_path):
    old, new = load(old_path), load(new_path)
    problems, notes = [], []
    ids = sorted(set(old["clauses"]) | set(new["clauses"]))
    for cid in ids:
        a, b = old["clauses"].get(cid, {}), new["clauses"].get(cid, {})
        if a.get("status") != b.get("status"):
            problems.append(f"clause {cid}: status {a.get('status')} -> {b.get('status')}")
        for key in ("checks", "failures", "unsupported", "inconclusive"):
            if a.get(key) != b.get(key):
                notes.append(f"clause {cid}: {key} {a.get(key)} -> {b.get(key)}")
    if discrepancies(old) != discrepancies(new):
        problems.append(f"discrepancies differ: only before {discrepancies(old) - discrepancies(new)}, "
                        f"only after {discrepancies(new) - discrepancies(old)}")
    sig = lambda d: sorted(x.get("signature", "") for x in d["discrepancies"])
    if sig(old) != sig(new):
        problems.append("discrepancy signatures differ")
    so, sn = old.get("suite", {}), new.get("suite", {})
    failed = lambda s: sorted((t.get("test"), tuple(t.get("clauses", []))) for t in s.get("failed_tests", []))
    if failed(so) != failed(sn):
        problems.append(f"suite failed tests differ: {set(failed(so)) ^ set(failed(sn))}")
    for key in ("exit", "tests", "mode"):
        if so.get(key) != sn.get(key):
            problems.append(f"suite {key}: {so.get(key)} -> {sn.get(key)}")
    if old.get("examples") != new.get("examples"):
        notes.append(f"examples: {old.get('examples')} -> {new.get('examples')}")
    statuses = Counter(c["status"] for c in new["clauses"].values())
    print(f"{len(ids)} clauses ({dict(statuses)}), {len(new['discrepancies'])} discrepancies, "
          f"suite {sn.get('tests')} tests / {len(failed(sn))} failed, examples {old.get('examples')} / "
          f"{new.get('examples')}")
    for n in notes:
        print("note:", n)
    for p in problems:
        print("DIFFERS:", p)
    print("same verdicts" if not problems else "verdicts differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
