"""Merging shards keeps the oracle coverage: a line or branch covered in any shard is covered, a raise
reached in any shard is reached, and the merged summary is the one the union of the shards' data gives."""
import ast
from pathlib import Path

from conformance import oracle_coverage as oc
from conformance.results import merge_shards

SOURCE = '''\
def f(x, y):
    if x:
        a = 1
        b = 2
    else:
        a = 3
    if y:
        raise ValueError("y must be false")
    c = a
    d = c
    return d


def g(z):
    if z:
        raise TypeError("z")
    return 0
'''
REL = "layers/rnn/base_rnn.py"  # a contract file's name for the synthetic source


def _coverage_data(executed, path):
    """coverage.py's JSON entry of SOURCE for the given executed lines (arcs from the statements'
    structure, as coverage's parser sees them)."""
    from coverage.python import PythonParser
    parser = PythonParser(filename=str(path))
    parser.parse_source()
    statements = set(parser.statements)
    exits = parser.exit_counts()
    branch_arcs = [arc for arc in parser.arcs() if exits.get(arc[0], 0) > 1]
    taken = {(a, b) for a, b in branch_arcs if a in executed and (b in executed or b < 0)}
    return {"executed_lines": sorted(executed & statements), "missing_lines": sorted(statements - executed),
            "executed_branches": [list(b) for b in sorted(taken)],
            "missing_branches": [list(b) for b in sorted(set(branch_arcs) - taken)]}


def _summary(root, executed):
    path = Path(root) / REL
    return oc.file_summary(str(root), REL, _coverage_data(set(executed), path), [])


def _results(file_summary, processes):
    return {"implementation": "reference", "oracle": "tf_keras", "clauses": {}, "discrepancies": [],
            "oracle_coverage": {"files": [file_summary], "outside_files": [], "processes": processes,
                                "contract": oc._totals([file_summary]), "outside": oc._totals([]),
                                "categories": oc.CATEGORIES}}


def test_merged_shards_keep_the_union_of_their_oracle_coverage(tmp_path):
    (tmp_path / "layers" / "rnn").mkdir(parents=True)
    (tmp_path / REL).write_text(SOURCE)
    # shard a: x true, y false, g(0); shard b: x false, y true (raises), g never called
    a_lines, b_lines = {1, 2, 3, 4, 7, 9, 10, 11, 14, 15, 17}, {1, 2, 6, 7, 8, 14}
    a, b = _summary(tmp_path, a_lines), _summary(tmp_path, b_lines)
    union = _summary(tmp_path, a_lines | b_lines)
    assert a["raises_reached"] == 0 and b["raises_reached"] == 1  # the shards differ in what they reach
    assert a["missing_ranges"] != union["missing_ranges"] != b["missing_ranges"]

    merged = merge_shards([_results(a, 2), _results(b, 3)])["oracle_coverage"]
    f = merged["files"][0]
    for key in ("lines_covered", "lines_total", "branches_covered", "branches_total", "raises_reached",
                "raises_total", "missing_lines", "missing_ranges", "missing_branches", "raises", "gaps",
                "explained", "percent"):
        assert f[key] == union[key], key
    assert merged["contract"] == oc._totals([union])
    assert merged["processes"] == 5 and merged["runs"] == 2
    raised = {r["line"]: r for r in f["raises"]}
    assert raised[8]["reached"] and "category" not in raised[8]
    assert not raised[16]["reached"] and raised[16]["category"] == "gap"


def test_ranges_split_where_another_shard_covered_a_line_inside(tmp_path):
    (tmp_path / "layers" / "rnn").mkdir(parents=True)
    (tmp_path / REL).write_text(SOURCE)
    a = _summary(tmp_path, {1, 2, 3, 4, 7, 14})   # 9-11 missing as one range
    b = _summary(tmp_path, {1, 2, 6, 7, 10, 14})  # 10 covered: 9 and 11 apart
    merged = oc.merge([_results(a, 1)["oracle_coverage"], _results(b, 1)["oracle_coverage"]])
    ranges = [r["lines"] for r in merged["files"][0]["missing_ranges"]]
    assert [8, 9] in ranges and [11, 11] in ranges and not any(r[0] <= 10 <= r[1] for r in ranges)
    assert ranges == [r["lines"] for r in _summary(tmp_path, {1, 2, 3, 4, 6, 7, 10, 14})["missing_ranges"]]


def test_a_shard_of_another_tf_keras_or_without_coverage_is_left_out(tmp_path):
    (tmp_path / "layers" / "rnn").mkdir(parents=True)
    (tmp_path / REL).write_text(SOURCE)
    a = _summary(tmp_path, {1, 2, 3, 4, 7, 9, 10, 11, 14, 15, 17})
    other = dict(_summary(tmp_path, set(range(1, 18))), lines_total=99)
    merged = merge_shards([_results(a, 1), _results(other, 1), {"implementation": "reference", "clauses": {}}])
    assert merged["oracle_coverage"]["runs"] == 1
    assert merged["oracle_coverage"]["files"][0]["lines_covered"] == a["lines_covered"]
    assert "oracle_coverage" not in merge_shards([{"implementation": "reference", "clauses": {}}] * 2)
