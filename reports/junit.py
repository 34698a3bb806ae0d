"""junit.xml: what CI pages list. Three <testsuite>s under one <testsuites>:

- `<run>.suite`: one testcase per failed conformance test (classname and name as pytest's own junit
  gives them), its failure text what differed and the snippet that replays it, plus its group;
- `<run>.fuzz`: one testcase per distinct discrepancy the fuzzer found, its failure text the detail,
  the shrunk configuration and the reproducer (skipped where --xfail accepts it);
- `<run>.clauses`: one testcase per contract clause, the per-clause view. fail -> <failure> naming
  the discrepancies and suite failures behind it (or <skipped> when its only evidence is
  discrepancies accepted by --xfail, matching the exit status), unsupported / untested /
  inconclusive -> <skipped>, pass -> nothing, oracle-deviation and the other statuses of
  judge.NOT_FAILING (lenient; differs-by-design, naming the known differences, their notes and links)
  -> passes with a <system-out> saying what differs and why: not a CI failure, as `rnnconf check`'s
  exit status says.

Each failure is thus listed once as what failed and once under every clause it fails, so the
clause suite's counts read as the contract's state and the others' as the bugs to fix.
xml.etree does the escaping.
"""
import xml.etree.ElementTree as ET
from pathlib import Path

from rnnconf.engine.judge import NOT_FAILING

from . import model

SKIP_REASONS = {
    "unsupported": "the implementation lacks a feature this clause needs",
    "untested": "no check reached this clause",
    "inconclusive": "every check of this clause was too sensitive to judge in float32 (or unsupported)",
}
# What a clause row of a judge.NOT_FAILING status says (never a <failure>).
NOT_FAILING_WORDS = {
    "oracle-deviation": "passes (follows the oracle, or the page where the oracle deviates from it); the oracle "
                        "deviates from its API page here",
    "lenient": "passes; the implementation accepts inputs the oracle refuses for reasons of its own machinery "
               "and computes what they mean (lenient)",
    "differs-by-design": "passes; differs from Keras 2 by design (a known difference of the implementation, "
                         "not a failure)",
}
MESSAGE_CHARS = 200  # a failure's message attribute: one line for CI's list; the text has the rest


def _one_line(text):
    line = " ".join(str(text or "").split())
    return line if len(line) <= MESSAGE_CHARS else line[:MESSAGE_CHARS] + " …"


def _properties(case, clauses):
    if clauses:
        props = ET.SubElement(case, "properties")
        for cid in clauses:
            ET.SubElement(props, "property", name="clause", value=str(cid))


def _suite_element(parent, name, elapsed=0):
    return ET.SubElement(parent, "testsuite", name=name, time=str(elapsed or 0))


def _clause_cases(suite, results, groups_of_tests):
    by_id = {view["id"]: d for view, d in zip(model.discrepancy_ids(results), results.get("discrepancies") or [])}
    for key, _, rows in model.clause_rows(results):
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=f"rnnconf.clauses.{key}", name=r["id"], time="0")
            behind = [by_id.get(did) or {} for did in r["discrepancies"]]
            if (r["status"] == "fail" and behind and all(d.get("xfail") for d in behind)
                    and not r["suite_groups"]):
                # Accepted by --xfail: not a CI failure, as the exit status says, but visibly not a pass.
                ET.SubElement(case, "skipped", message="known discrepancies accepted by --xfail: "
                              + ", ".join(r["discrepancies"]))
            elif r["status"] == "fail":
                lines = [r["text"], f"{r['failures']} of {r['checks']} checks failed"]
                for did in r["discrepancies"]:
                    d = by_id.get(did) or {}
                    lines.append(f"{did} [{d.get('kind', '?')}] {d.get('detail', '')} "
                                 f"(reproducer: {d.get('repro') or 'inline in report.html'})")
                for gid in r["suite_groups"]:
                    tests = [t["test"] for t in groups_of_tests[gid] if r["id"] in t["clauses"]]
                    lines.append(f"{gid}: {len(tests)} failed suite test{'s' if len(tests) != 1 else ''} "
                                 f"({groups_of_tests[gid][0]['first_line']})")
                    lines.extend(f"  {t}" for t in tests)
                if r["unattributed"]:
                    lines.append("no discrepancy or failed suite test names this clause: failing fuzzer "
                                 "examples counted against it (see report.html, #unattributed)")
                failure = ET.SubElement(case, "failure", message=f"{r['failures']} failing checks",
                                        type="clause")
                failure.text = "\n".join(lines)
            elif r["status"] in SKIP_REASONS:
                ET.SubElement(case, "skipped", message=SKIP_REASONS[r["status"]])
            elif r["status"] == "differs-by-design":
                out = ET.SubElement(case, "system-out")
                out.text = "differs from Keras 2 by design (a known difference, not a failure): " + "; ".join(
                    f"{k.get('note') or k.get('entry')} ({k.get('url')})" for k in model.known_difference_rows(results)
                    if k.get("status") == "matched" and r["id"] in (k.get("clauses") or []))
            elif r["status"] in NOT_FAILING:
                counts = ", ".join(f"{n} {s}" for s, n in r["not_failing"].items())
                out = ET.SubElement(case, "system-out")
                out.text = (NOT_FAILING_WORDS.get(r["status"], f"passes ({r['status']})") + (f" ({counts} of {r['checks']} checks)" if counts else "")
                            + (": " + ", ".join(r["deviations"]) if r["deviations"] else ""))


def _suite_cases(suite, groups):
    for g in groups:
        for t in g["tests"]:
            case = ET.SubElement(suite, "testcase", classname=t["classname"], name=t["name"], time="0")
            _properties(case, t["clauses"])
            failure = ET.SubElement(case, "failure", message=_one_line(t["first_line"]), type="suite-failure")
            others = len(g["tests"]) - 1
            lines = [t["what"], "", f"clauses: {', '.join(t['clauses']) or 'none'}",
                     f"group {g['id']}: {g['pattern']}"
                     + (f" ({others} other test{'s' if others != 1 else ''} fail the same way)" if others else "")]
            if t["replay"]:
                lines += ["", f"{t['replay_label']}:", t["replay"]]
            failure.text = "\n".join(lines)


def _fuzz_cases(suite, results, out_dir):
    for view, d in zip(model.discrepancy_views(results, out_dir), results.get("discrepancies") or []):
        core = d["fingerprint"].get("core") if isinstance(d.get("fingerprint"), dict) else None
        case = ET.SubElement(suite, "testcase", classname=f"rnnconf.fuzz.{view['kind']}",
                             name=f"{view['id']}: {core}" if core else view["id"], time="0")
        _properties(case, view["clauses"])
        lines = [view["detail"], "", f"clauses: {', '.join(view['clauses']) or 'none'}"]
        if d.get("signature"):
            lines.append(f"signature: {d['signature']}")
        if view["occurrences"]:
            lines.append(f"seen {view['occurrences']} times")
        if view["config"]:
            lines += ["", "shrunk configuration:", view["config"]]
        if view["code"]:
            lines += ["", f"reproducer ({view['repro'] or 'inline'}):", view["code"].rstrip()]
        elif view["repro"]:
            lines.append(f"reproducer: {view['repro']}")
        if view["xfail"]:
            ET.SubElement(case, "skipped", message=f"known discrepancy accepted by --xfail: {_one_line(view['detail'])}")
            ET.SubElement(case, "system-out").text = "\n".join(lines)
        else:
            failure = ET.SubElement(case, "failure", message=_one_line(view["detail"]), type=view["kind"])
            failure.text = "\n".join(lines)


def _count(element):
    cases = list(element.iter("testcase"))
    return {"tests": len(cases), "errors": 0,
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None)}


def junit_tree(results, out_dir=None):
    """The junit tree of a results dict; `out_dir` is where reproducer files named by the
    discrepancies' "repro" are read from (their inline "repro_code" otherwise)."""
    results = results or {}
    impl = results.get("implementation") or "unknown"
    run = f"rnnconf.{impl}-vs-{results.get('oracle') or 'oracle'}"
    elapsed = results.get("elapsed_s") or 0
    groups = model.suite_groups(results)
    suites = ET.Element("testsuites", name="rnnconf")
    # What failed first, so CI pages that show the first suite open it on the bugs.
    _suite_cases(_suite_element(suites, f"{run}.suite", (results.get("stages") or {}).get("suite")), groups)
    _fuzz_cases(_suite_element(suites, f"{run}.fuzz", (results.get("stages") or {}).get("fuzz")), results, out_dir)
    _clause_cases(_suite_element(suites, f"{run}.clauses", elapsed), results,
                  {g["id"]: g["tests"] for g in groups})
    for suite in suites:
        suite.attrib.update({k: str(v) for k, v in _count(suite).items()})
    totals = _count(suites)
    suites.attrib.update({k: str(v) for k, v in totals.items()}, time=str(elapsed))
    return ET.ElementTree(suites)


def write_junit(results, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_tree(results, path.parent)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
