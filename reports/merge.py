"""Merging results.json shards of one implementation (several `rnnconf check` runs, e.g. CI shards).

Counts are summed and statuses recomputed by conformance.results.Results itself (this module only
feeds it the summed counts), so a merged report can never disagree with a single run's rules.
"""
from conformance.results import Results


def _unsupported_count(entry):
    # results.json (interfaces.md) does not require the "unsupported" count; an entry without it but
    # with status "unsupported" had every check unsupported.
    if "unsupported" in entry:
        return entry["unsupported"]
    return entry.get("checks", 0) if entry.get("status") == "unsupported" else 0


def merge(shards):
    """One results dict from several shards of the same implementation (see module docstring)."""
    shards = [s or {} for s in shards]
    first = next((s for s in shards if s), {})
    seeds = sorted({s.get("seed") for s in shards if s.get("seed") is not None}, key=str)
    versions = {}
    for s in shards:
        versions.update(s.get("versions") or {})
    results = Results(first.get("implementation"), first.get("oracle"),
                      seed=seeds[0] if len(seeds) == 1 else (seeds or None), versions=versions)
    data = results.data

    per_clause = {}
    for s in shards:
        for cid, entry in (s.get("clauses") or {}).items():
            per_clause.setdefault(cid, []).append(entry)
    for cid, entries in per_clause.items():
        target = data["clauses"].setdefault(
            cid, {"status": "untested", "checks": 0, "failures": 0, "unsupported": 0, "inconclusive": 0})
        target["checks"] = sum(e.get("checks", 0) for e in entries)
        target["failures"] = sum(e.get("failures", 0) for e in entries)
        target["unsupported"] = sum(_unsupported_count(e) for e in entries)
        target["inconclusive"] = sum(e.get("inconclusive", 0) for e in entries)
        for entry in entries:
            results.margins.merge({cid: entry.get("margin")})

    for s in shards:
        for d in s.get("discrepancies") or []:
            item = dict(d)
            if d.get("id"):
                item["shard_id"] = d["id"]
            item["id"] = f"d-{len(data['discrepancies']) + 1:04d}"
            data["discrepancies"].append(item)

    merged = results.to_dict()
    # to_dict() stamps the wall time of this (instant) merge; the shards' own times are the real ones.
    merged["examples"] = sum(s.get("examples") or 0 for s in shards)
    merged["elapsed_s"] = max((s.get("elapsed_s") or 0.0 for s in shards), default=0.0)
    firsts = [s["time_to_first_discrepancy_s"] for s in shards
              if s.get("time_to_first_discrepancy_s") is not None]
    merged["time_to_first_discrepancy_s"] = min(firsts) if firsts else None
    merged["shards"] = len(shards)
    return merged
