"""Shared by the report tests: results built with the real Results class, and a small HTML reader."""
from html.parser import HTMLParser

from rnnconf.engine.results import Results

EVIL = "<script>alert(1)</script>"
REPRO_FILE_CODE = "# reproducer d-0001, read from its file\nprint('x < y & z')\n"

VALUE_CASE = {"cells": [{"kind": "lstm", "units": 3}], "flags": {"go_backwards": True},
              "mask": [[1, 1, 0, 0], [0, 1, 1, 1]], "dtype": "float32"}


def sample_results(impl="keras3", evil=False):
    """A run with every status: pass, fail, unsupported, oracle-deviation, untested; two discrepancies."""
    marker = EVIL if evil else "raises"
    r = Results(impl, "tf_keras", seed=7, versions={"numpy": "2.1", "tf_keras": "2.21"})
    for margin in ({"float32": 0.0}, {"float32": 0.002}, {"float64": 0.3}):
        r.record(["CALL-01", "SHAPE-01"])                 # pass
        r.margins.add(["CALL-01", "SHAPE-01"], margin)
    r.record(["FLAG-03", "MASK-01"], ok=False)           # fail
    r.record(["FLAG-03", "MASK-01"])
    r.record(["FLAG-06"], unsupported=True)              # unsupported
    r.record(["FLAG-05"])                                # pass, but an oracle deviation touches it
    r.record(["ERR-03"], ok=False)                       # fail
    r.add_discrepancy(["FLAG-03", "MASK-01"], "value", VALUE_CASE, "max abs diff 0.41 at output[1][2]",
                      repro="repro/d-0001.py",
                      stats={"max_abs": 0.41, "max_rel": 0.2, "index": [1, 2], "expected": 0.5, "actual": 0.91})
    r.add_discrepancy(["ERR-03"], "error", {"cells": [{"kind": "gru", "units": 2, "note": marker}]},
                      f"the oracle raises ValueError: {marker}; the implementation does not",
                      repro="repro/d-0002.py",
                      stats={"expected": {"type": "ValueError", "message": f"bad cell {marker}"}, "actual": None},
                      repro_code=f"print({marker!r})\n")
    data = r.to_dict()
    data["examples"] = 40
    data["elapsed_s"] = 12.5
    return data


class Page(HTMLParser):
    """Elements with an id: their attributes and text; plus every start tag, for counting."""
    VOID = {"meta", "input", "br", "img", "hr", "link", "source", "wbr", "col", "area", "base", "embed", "track"}

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.by_id, self.text, self.tags, self._open = {}, {}, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.by_id[attrs["id"]] = attrs
            self.text[attrs["id"]] = ""
        if tag not in self.VOID:
            self._open.append((tag, attrs.get("id")))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self._open.pop()

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._open:
            if element_id:
                self.text[element_id] += data

    def with_class(self, tag, cls):
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]
