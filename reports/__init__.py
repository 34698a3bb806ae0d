"""HTML compatibility reports and junit.xml, all rendered from results.json data.

The report is data first, HTML second (like the ONNX backend scoreboard): `rnnconf.engine.results`
produces (and merges) the dict, this package only presents it.
"""
from .render import render_comparison, render_report, report_command, write_junit

__all__ = ["render_report", "render_comparison", "write_junit", "report_command"]
