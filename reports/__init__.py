"""HTML compatibility reports, junit.xml and shard merging, all rendered from results.json data.

The report is data first, HTML second (like the ONNX backend scoreboard): `conformance.results`
produces the dict, this package only presents it.
"""
from .render import merge, render_comparison, render_report, report_command, write_junit

__all__ = ["render_report", "render_comparison", "write_junit", "merge", "report_command"]
