"""Everything that turns results into something to read: HTML pages, junit.xml, scoreboards, reproducers.

render.py      report.html (and `rnnconf report A B` comparisons) from results.json, with templates/
model.py       a results.json dict -> what the templates show; plots.py its small SVG plots
junit.py       junit.xml
scoreboard.py  clause-by-implementation columns and scoreboard.json
diff.py        what changed between two runs (--baseline)
repro.py       one standalone reproducer script per discrepancy: repro_source.py (values and the layer as
               source), repro_data.py (arrays), repro_cells.py (custom cells), repro_harness.py (copies the
               harness, repro_runtime.py, into each), repro_words.py (docstring and bug report);
               tfjs_repro.py the JavaScript ones
snippet.py     the short snippet of a case shown in reports and test failures

The report is data first, HTML second (like the ONNX backend scoreboard): rnnconf.engine.results
produces (and merges) the dict, this package only presents it.
"""
from .render import render_comparison, render_report, report_command, write_junit

__all__ = ["render_report", "render_comparison", "write_junit", "report_command"]
