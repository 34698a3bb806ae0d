"""Geometry for the report's small inline SVG plots; the template draws the shapes.

- checks per clause group: one horizontal bar per group, split into passing, failing and
  unsupported checks, so where the campaign spent its examples shows at a glance;
- coverage growth: clauses reached and distinct discrepancies against examples and against time,
  from the run's "progress" samples, so a campaign that stopped finding anything early shows;
- margins: per clause group and dtype, how close the passing values came to their bound (the
  largest difference over the tolerance, in decades), so a reader sees whether a pass was
  comfortable or grazed the bound.

Each returns None where results.json lacks the data, and the template leaves that plot out.
"""
import math

from rnnconf.engine.results import MarginTally

LABEL_W, BAR_W, ROW_H = 90, 480, 22
DTYPE_COLOURS = {"float32": "#1f77b4", "float64": "#ff7f0e", "float16": "#2ca02c"}


def checks_by_group(groups):
    rows = []
    for key, title, clause_rows in groups:
        failing = sum(r["failures"] for r in clause_rows)
        unsupported = sum(r["unsupported"] for r in clause_rows)
        total = sum(r["checks"] for r in clause_rows)
        rows.append({"key": key, "title": title, "total": total, "fail": failing,
                     "unsupported": unsupported, "pass": max(total - failing - unsupported, 0)})
    biggest = max((r["total"] for r in rows), default=0) or 1
    for i, r in enumerate(rows):
        r["y"] = i * ROW_H
        x = LABEL_W
        for part in ("pass", "fail", "unsupported"):
            width = BAR_W * r[part] / biggest
            r[part + "_x"], r[part + "_w"] = x, width
            x += width
        r["end_x"] = x
    return {"rows": rows, "width": LABEL_W + BAR_W + 70, "height": len(rows) * ROW_H + 4,
            "label_w": LABEL_W}


def _group_margins(results, groups):
    """{(group key, title, dtype): {"max": ratio, "hist": {bucket: n}}} from the clauses' "margin"."""
    entries = results.get("clauses") or {}
    merged = {}
    for key, title, rows in groups:
        tally = MarginTally()
        tally.merge({row["id"]: (entries.get(row["id"]) or {}).get("margin") for row in rows})
        for by_dtype in tally.entries.values():
            for dtype, entry in by_dtype.items():
                into = merged.setdefault((key, title, dtype), {"max": 0.0, "hist": {}})
                into["max"] = max(into["max"], entry["max"])
                for bucket, n in entry["hist"].items():
                    into["hist"][bucket] = into["hist"].get(bucket, 0) + n
    return merged


def margins(results, groups):
    """None when no margins were recorded; else a heat strip per clause group and dtype: how the
    passing checks' largest difference compared with its bound (ratio, log10 decades; "exact" where
    the values were equal), and where the largest ratio fell."""
    merged = _group_margins(results, groups)
    if not merged:
        return None
    lowest = MarginTally.LOWEST
    buckets = ["exact"] + [str(d) for d in range(lowest, 0)]
    cell_w = BAR_W / len(buckets)
    label_w = LABEL_W + 40
    order = {key: i for i, (key, _, _) in enumerate(groups)}
    rows = []
    for i, ((key, title, dtype), entry) in enumerate(sorted(merged.items(), key=lambda kv: (order[kv[0][0]], kv[0][2]))):
        total = sum(entry["hist"].values()) or 1
        cells = []
        for j, bucket in enumerate(buckets):
            n = entry["hist"].get(bucket, 0)
            if n:
                label = "equal values" if bucket == "exact" else f"1e{bucket} to 1e{int(bucket) + 1} of the bound"
                cells.append({"x": label_w + j * cell_w, "w": cell_w - 1, "n": n, "label": label,
                              "opacity": round(0.15 + 0.85 * n / total, 3)})
        exp = math.log10(entry["max"]) if entry["max"] > 0 else None
        max_x = None if exp is None else label_w + cell_w * (1 + min(max(exp, lowest), 0) - lowest)
        rows.append({"key": key, "title": title, "dtype": dtype, "y": i * ROW_H, "cells": cells, "checks": sum(entry["hist"].values()),
                     "max": entry["max"], "max_x": max_x, "colour": DTYPE_COLOURS.get(dtype, "#7f7f7f")})
    plot_h = len(rows) * ROW_H
    ticks = [{"label": "=", "x": label_w + cell_w / 2}] + [
        {"label": f"1e{d}", "x": label_w + cell_w * (1 + d - lowest)} for d in range(lowest, 1, 2)]
    return {"rows": rows, "ticks": ticks, "plot_h": plot_h, "height": plot_h + 34, "label_w": label_w,
            "bound_x": label_w + BAR_W, "width": label_w + BAR_W + 90}


# ---- coverage growth -----------------------------------------------------------------------------
PANEL_W, PANEL_H, PANEL_LEFT, PANEL_BOTTOM = 250, 110, 44, 34


def progress_samples(results):
    """The run's "progress" as [(elapsed_s, examples, clauses_reached, discrepancies)], malformed
    entries dropped; each sample is a list (or a dict with those keys)."""
    keys = ("elapsed_s", "examples", "clauses_reached", "discrepancies")
    samples = []
    for entry in results.get("progress") or []:
        if isinstance(entry, dict):
            entry = [entry.get(k) for k in keys]
        if not isinstance(entry, (list, tuple)) or len(entry) < 4:
            continue
        values = entry[:4]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
               for v in values):
            samples.append(tuple(float(v) for v in values))
    return samples


def _nice_ticks(top, count=4):
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _tick_label(value):
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _panel(points, x_label, y_label, y_top=None):
    """One small step chart: counts hold their value until the next sample."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks = _nice_ticks(max(xs))
    y_ticks = _nice_ticks(max(y_top or 0, max(ys), 1))
    x_max, y_max = x_ticks[-1], y_ticks[-1]

    def x_of(v):
        return PANEL_LEFT + PANEL_W * v / x_max

    def y_of(v):
        return 8 + PANEL_H * (1 - v / y_max)

    path = []
    for i, (x, y) in enumerate(points):
        if i:
            path.append(f"{x_of(x):.1f},{y_of(points[i - 1][1]):.1f}")
        path.append(f"{x_of(x):.1f},{y_of(y):.1f}")
    return {"points": " ".join(path), "x_label": x_label, "y_label": y_label,
            "ceiling": {"y": y_of(y_top), "label": f"all {y_top}"} if y_top else None,
            "last": {"x": x_of(xs[-1]), "y": y_of(ys[-1]), "value": ys[-1], "at": xs[-1]},
            "x_ticks": [{"x": x_of(v), "label": _tick_label(v)} for v in x_ticks],
            "y_ticks": [{"y": y_of(v), "label": _tick_label(v)} for v in y_ticks],
            "left": PANEL_LEFT, "right": PANEL_LEFT + PANEL_W, "top": 8, "bottom": 8 + PANEL_H,
            "width": PANEL_LEFT + PANEL_W + 16, "height": 8 + PANEL_H + PANEL_BOTTOM}


def coverage_growth(results):
    """None without "progress" samples; else four panels: clauses reached and distinct discrepancies,
    each against examples and against elapsed time."""
    samples = progress_samples(results)
    if not samples:
        return None
    total = len(results.get("clauses") or {}) or None
    by_examples = sorted(samples, key=lambda s: s[1])
    by_time = sorted(samples, key=lambda s: s[0])
    return {"samples": len(samples), "total_clauses": total, "panels": [
        dict(_panel([(s[1], s[2]) for s in by_examples], "examples", "clauses reached", total),
             id="growth-clauses-examples"),
        dict(_panel([(s[0], s[2]) for s in by_time], "elapsed s", "clauses reached", total),
             id="growth-clauses-time"),
        dict(_panel([(s[1], s[3]) for s in by_examples], "examples", "distinct discrepancies"),
             id="growth-discrepancies-examples"),
        dict(_panel([(s[0], s[3]) for s in by_time], "elapsed s", "distinct discrepancies"),
             id="growth-discrepancies-time"),
    ]}
