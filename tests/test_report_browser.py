"""The rendered report in a real browser (headless Chromium): it loads, its script runs without
errors, every clause row is in the DOM, a reproducer is visible, the copy button works; and a
screenshot is kept in tests/artifacts/report.png for a human to look at.

Skipped when /usr/bin/chromium is absent (`make browser-deps` installs it).
"""
import subprocess
import tempfile
from pathlib import Path

import pytest

from rnnconf.conformance.spec.clauses import ALL_IDS
from rnnconf.reports import render

try:
    from test_reports_support import REPRO_FILE_CODE, Page, sample_results
except ImportError:  # tests/ became a package
    from tests.test_reports_support import REPRO_FILE_CODE, Page, sample_results

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs headless Chromium at /usr/bin/chromium, which is not installed (`make test` installs no "
           "system packages); to enable this test run `make browser-deps` (apt-get, as root), as CI does")

# Injected into a copy of the report only: the first records uncaught errors before the report's
# script runs, the second measures what a reader would see and clicks a copy button.
ERROR_TRAP = """<script>window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });</script>"""
PROBE = """<script>(function () {
  var root = document.documentElement;
  var code = document.getElementById("code-d-0001");
  var box = code.getBoundingClientRect();
  root.setAttribute("data-repro-visible", String(box.height > 0 && box.width > 0 && code.offsetParent !== null
                                                 && getComputedStyle(code).visibility === "visible"));
  var button = document.querySelector('button.copy[data-target="code-d-0001"]');
  button.click();
  setTimeout(function () {
    root.setAttribute("data-copy-result", button.textContent);
    root.setAttribute("data-errors", window.__errors.join(" | "));
  }, 200);
})();</script>"""


def chromium(*args, timeout=30):
    with tempfile.TemporaryDirectory() as profile:
        cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser-report")
    (out / "repro").mkdir()
    (out / "repro" / "d-0001.py").write_text(REPRO_FILE_CODE)
    render.render_report(sample_results(), out)
    return out


def test_report_loads_without_errors_and_shows_everything(report_dir):
    html = (report_dir / "report.html").read_text()
    probed = report_dir / "probe.html"
    probed.write_text(html.replace("<head>", "<head>" + ERROR_TRAP, 1).replace("</body>", PROBE + "</body>", 1))
    run = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom",
                   probed.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], "console output from the page"
    page = Page(run.stdout)
    root = next(attrs for tag, attrs in page.tags if tag == "html")
    assert root.get("data-errors") == "", root.get("data-errors")
    assert root.get("data-ready") == str(len(ALL_IDS)), "the report's script ran to its end"
    assert all(f"clause-{cid}" in page.by_id for cid in ALL_IDS)
    assert root.get("data-repro-visible") == "true"
    assert page.text["code-d-0001"] == REPRO_FILE_CODE
    # Headless Chromium may refuse clipboard access; either way the handler ran and reported it.
    assert root.get("data-copy-result") in ("Copied", "Copy failed")


def test_screenshot_is_kept_as_an_artifact(report_dir):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    run = chromium(f"--screenshot={shot}", "--window-size=1280,2000", (report_dir / "report.html").as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "a blank page compresses to a few KB"
