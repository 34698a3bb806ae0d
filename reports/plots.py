"""Geometry for the report's two small inline SVG plots; the template draws the shapes.

- checks per clause group: one horizontal bar per group, split into passing, failing and
  unsupported checks, so where the campaign spent its examples shows at a glance;
- error magnitude: max |expected - actual| per clause and dtype on a log scale, next to each dtype's
  machine epsilon, so an error of 1e-7 in float64 stands out from one in float32.
"""
import math

import numpy as np

from .model import max_abs_of

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


def _error_points(results):
    points = {}
    for cid, entry in (results.get("clauses") or {}).items():
        for dtype, value in (entry.get("max_abs_error") or {}).items():
            points[(cid, dtype)] = value
    for d in results.get("discrepancies") or []:
        value = max_abs_of(d)
        if value is None:
            continue
        dtype = (d.get("config") or {}).get("dtype", "float32")
        for cid in d.get("clauses") or []:
            points[(cid, dtype)] = max(points.get((cid, dtype), value), value)
    return {k: float(v) for k, v in points.items() if isinstance(v, (int, float)) and not math.isnan(v)}


def error_magnitudes(results, floor_exp=-18, ceil_exp=2):
    """None when no magnitudes were recorded; else the dot plot's geometry (log10 x axis)."""
    points = _error_points(results)
    if not points:
        return None
    clauses = sorted({cid for cid, _ in points})
    lo, hi = floor_exp, ceil_exp
    width = BAR_W

    def x_of(value):
        exp = math.log10(value) if value > 0 else lo
        exp = min(max(exp, lo), hi)
        return LABEL_W + width * (exp - lo) / (hi - lo)

    dots = []
    for (cid, dtype), value in sorted(points.items()):
        dots.append({"clause": cid, "dtype": dtype, "value": value, "x": x_of(value),
                     "y": clauses.index(cid) * ROW_H + ROW_H / 2,
                     "colour": DTYPE_COLOURS.get(dtype, "#7f7f7f")})
    height = len(clauses) * ROW_H
    eps = [{"dtype": dt, "x": x_of(float(np.finfo(dt).eps)), "colour": DTYPE_COLOURS[dt]}
           for dt in ("float32", "float64") if any(p[1] == dt for p in points)]
    ticks = [{"label": f"1e{e}", "x": x_of(10.0 ** e)} for e in range(lo, hi + 1, 4)]
    return {"clauses": [{"id": c, "y": i * ROW_H + ROW_H / 2} for i, c in enumerate(clauses)],
            "dots": dots, "eps": eps, "ticks": ticks, "plot_h": height,
            "height": height + 34, "width": LABEL_W + width + 40, "label_w": LABEL_W,
            "dtypes": [{"name": dt, "colour": DTYPE_COLOURS.get(dt, "#7f7f7f")}
                       for dt in sorted({p[1] for p in points})]}
