"""Rendering results.json into report.html (one implementation) or a comparison matrix (several).

Each report is one self-contained HTML file (CSS, JS and SVG inline; nothing fetched), rendered by
Jinja2 with autoescaping on, so configs, values and messages from the run are always escaped.
`report_command` is what `rnnconf report A.json B.json --out DIR` runs.
"""
import datetime
import json
import re
import sys
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from rnnconf.conformance.spec.clauses import CLAUSES, GROUPS

from . import diff as diffs
from . import model, plots
from . import scoreboard as scoreboards
from .junit import write_junit
from rnnconf.engine.results import merge_shards

__all__ = ["render_report", "render_comparison", "render_scoreboard", "write_junit", "report_command", "diff_command",
           "load_grouped", "scoreboard_from_results"]

TEMPLATES = Path(__file__).with_name("templates")


def _ticks(text):
    """`code` spans of the spec's clause texts as <code>, everything else escaped."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _seconds(value):
    return "n/a" if value is None else f"{value:.1f} s"


def _number(value):
    return "n/a" if value is None else f"{value:.3g}"


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters.update(ticks=_ticks, seconds=_seconds, number=_number)


def _write(out_dir, html):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def _generated():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def render_report(results, out_dir, changes=None):
    """Write out_dir/report.html for one implementation's results dict; returns its path.
    `changes` (reports.diff.diff against a baseline) adds a "Changes since the baseline" section."""
    results = results or {}
    groups = model.clause_rows(results)
    page = _env.get_template("report.html").render(
        head=model.header(results), verdict=model.verdict(results), groups=groups,
        counts=model.status_counts(groups), statuses=model.STATUSES,
        discrepancies=model.discrepancy_views(results, out_dir), suite_groups=model.suite_groups(results),
        unattributed=[r for _, _, rows in groups for r in rows if r["unattributed"]],
        deviations=results.get("deviations") or [],
        checks_plot=plots.checks_by_group(groups), margin_plot=plots.margins(results, groups),
        growth_plot=plots.coverage_growth(results), generated=_generated(), changes=changes,
        known_issues=model.known_issue_rows(results), known_differences=model.known_difference_rows(results),
        oracle_coverage=model.oracle_coverage_view(results), not_failing=model.not_failing_views(results))
    return _write(out_dir, page)


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)) or "impl"


def render_comparison(results_list, out_dir, links=None):
    """Write out_dir/report.html: clause-by-implementation matrix (one column per results dict).

    `links` optionally maps column index -> relative URL of that implementation's own report.
    A single results dict gets the ordinary report instead.
    """
    results_list = [r or {} for r in results_list]
    if len(results_list) == 1:
        return render_report(results_list[0], out_dir)
    columns = [scoreboards.column(r, name=r.get("implementation") or f"implementation {i + 1}",
                                  link=(links or {}).get(i))
               for i, r in enumerate(results_list)]
    return _render_matrix(columns, out_dir, "report.html")


def render_scoreboard(results_list, out_dir, names, links=None, errors=None, previous=None):
    """Write out_dir/index.html and out_dir/scoreboard.json: the comparison matrix, one column per
    target (`names`, in order), even a single one. `errors` maps column index -> why that target did
    not run (its column says so; its results dict is ignored); `previous`, an earlier
    scoreboard.json dict, adds what changed per target (reports.diff). Returns the page's path."""
    errors = errors or {}
    columns = [scoreboards.column(None if i in errors else r, name=name, link=(links or {}).get(i),
                                  error=errors.get(i))
               for i, (r, name) in enumerate(zip(results_list, names))]
    changes = scoreboards.changes(previous, columns) if previous is not None else None
    board = {"generated": _generated(), "columns": columns}
    if changes is not None:
        board["changes"] = changes
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scoreboard.json").write_text(json.dumps(board, indent=2, default=str), encoding="utf-8")
    return _render_matrix(columns, out, "index.html", changes=changes, title="rnnconf scoreboard")


def _render_matrix(columns, out_dir, filename, changes=None, title=None):
    """The one matrix renderer (comparison.html) for `rnnconf report A B` and the scoreboard."""
    ids = {cid for c in columns for cid in c["clauses"]}
    groups = [(key, g["title"], g["ids"]) for key, g in GROUPS.items()]
    unknown = sorted(ids - set(CLAUSES))
    if unknown:
        groups.append(("OTHER", "IDs not in this catalogue", unknown))
    packages = sorted({p for c in columns for p in c["versions"]})
    page = _env.get_template("comparison.html").render(
        columns=columns, groups=groups, clauses=CLAUSES, statuses=model.STATUSES, generated=_generated(),
        packages=packages, changes=changes, title=title, did_not_run=scoreboards.DID_NOT_RUN)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / filename
    path.write_text(page, encoding="utf-8")
    return path


def _load(path):
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a results.json object")
    # Reproducer paths are relative to the file's own directory: keep their code with the data, so
    # merged (renumbered) discrepancies and reports written elsewhere still show it.
    for d in data.get("discrepancies") or []:
        if d.get("repro") and not d.get("repro_code"):
            root = path.parent.resolve()
            file = (root / d["repro"]).resolve()
            if file.is_relative_to(root) and file.is_file():
                d["repro_code"] = file.read_text(errors="replace")
    return data


def _write_outputs(results, out_dir):
    """results.json, junit.xml and repro/<id>.py of (merged) results, then report.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for d in results.get("discrepancies") or []:
        if d.get("repro_code"):  # every reproducer we hold goes to a file named after its (new) id
            d["repro"] = f"repro/{_slug(d.get('id'))}.py"
            (out_dir / "repro").mkdir(exist_ok=True)
            (out_dir / d["repro"]).write_text(d["repro_code"], encoding="utf-8")
    # On disk the code lives in repro/ (as `rnnconf check` writes it), not inline.
    on_disk = dict(results, discrepancies=[{k: v for k, v in d.items() if k != "repro_code"}
                                           for d in results.get("discrepancies") or []])
    (out_dir / "results.json").write_text(json.dumps(on_disk, indent=2, default=str), encoding="utf-8")
    write_junit(results, out_dir / "junit.xml")
    return render_report(results, out_dir)


def load_grouped(paths):
    """{implementation: results} in the order first seen, the shards of one implementation merged
    (merge_shards); a ValueError names an input that cannot be read."""
    by_impl = {}
    for p in paths:
        try:
            data = _load(p)
        except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"cannot read {p}: {e}") from None
        by_impl.setdefault(data.get("implementation") or "unknown", []).append(data)
    return {name: merge_shards(shards) if len(shards) > 1 else shards[0] for name, shards in by_impl.items()}


def _write_each(by_impl, out_dir):
    """Each implementation's outputs in out_dir/<name>/; the links to their reports, by column."""
    links = {}
    for i, (name, results) in enumerate(by_impl.items()):
        _write_outputs(results, Path(out_dir) / _slug(name))
        links[i] = f"{_slug(name)}/report.html"
    return links


def report_command(paths, out_dir):
    """`rnnconf report`: load, merge shards per implementation, render; returns the exit status.

    0: rendered, no discrepancies; 1: rendered, discrepancies found (as `rnnconf check`);
    2: an input could not be read (one line on stderr).
    """
    if not paths:
        print("rnnconf report: no results.json given", file=sys.stderr)
        return 2
    try:
        by_impl = load_grouped(paths)
    except ValueError as e:
        print(f"rnnconf report: {e}", file=sys.stderr)
        return 2
    merged = list(by_impl.values())
    out_dir = Path(out_dir)
    if len(merged) == 1:
        path = _write_outputs(merged[0], out_dir)
    else:
        path = render_comparison(merged, out_dir, _write_each(by_impl, out_dir))
    print(f"rnnconf report: {path}", file=sys.stderr)
    found = any(not d.get("xfail") for r in merged for d in r.get("discrepancies") or [])
    return 1 if found else 0


def scoreboard_from_results(paths, out_dir, previous=None):
    """`rnnconf scoreboard --from-results`: results.json files (CI shards of one implementation are
    merged) -> each one's report in out_dir/<name>/, then out_dir/index.html and scoreboard.json.
    Returns the page's path; a ValueError names an input that cannot be read."""
    by_impl = load_grouped(paths)
    links = _write_each(by_impl, out_dir)
    return render_scoreboard(list(by_impl.values()), out_dir, list(by_impl), links, previous=previous)


def diff_command(old_path, new_path, out_dir):
    """`rnnconf report --diff OLD NEW --out DIR`: NEW's outputs with a diff section, DIR/diff.json, the
    summary on stderr. 0: nothing new against OLD; 1: new failures; 2: an input could not be read."""
    loaded = []
    for p in (old_path, new_path):
        try:
            loaded.append(_load(p))
        except (OSError, ValueError) as e:
            print(f"rnnconf report: cannot read {p}: {e}", file=sys.stderr)
            return 2
    old, new = loaded
    changes = diffs.diff(old, new)
    changes["gating"] = diffs.gating(changes)
    out_dir = Path(out_dir)
    _write_outputs(new, out_dir)
    render_report(new, out_dir, changes=changes)
    (out_dir / "diff.json").write_text(json.dumps(changes, indent=2, default=str), encoding="utf-8")
    print(diffs.summary(changes, changes["gating"]), file=sys.stderr)
    print(f"rnnconf report: {out_dir / 'report.html'}", file=sys.stderr)
    return 1 if diffs.count(changes["gating"]) else 0
