"""Every clause of the contract has at least one conformance test (coverage 100%)."""
import json
import subprocess
import sys
from pathlib import Path

from rnnconf.conformance.spec.clauses import ALL_IDS, SPEC_DIR

ROOT = Path(__file__).resolve().parents[1]


def test_every_clause_has_a_conformance_test(tmp_path):
    listed = tmp_path / "clauses.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance", "--collect-only", "-q",
                           "-p", "no:cacheprovider", f"--list-clauses={listed}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    covered = set(json.loads(listed.read_text()))
    missing = [cid for cid in ALL_IDS if cid not in covered]
    assert not missing, f"clauses without a conformance test: {missing}"


def test_clause_catalogue_is_complete():
    groups = {cid.split("-")[0] for cid in ALL_IDS}
    assert groups == {"CELL", "FLAG", "CALL", "SHAPE", "MASK", "STATE", "INIT", "CONST", "EX", "ERR", "GRAD"}
    assert [c for c in ALL_IDS if c.startswith("ERR")] == [f"ERR-{i:02d}" for i in range(1, 48)]
    assert [c for c in ALL_IDS if c.startswith("GRAD")] == [f"GRAD-{i:02d}" for i in range(1, 11)]
    assert len(ALL_IDS) == 98


def test_spec_snapshot_matches_shared_spec():
    """conformance/spec/ is a copy of ../shared/spec so the tool works outside this checkout;
    when the shared spec is beside the repo, the copy must not have drifted."""
    shared = ROOT.parent / "shared" / "spec"
    if not shared.is_dir():
        return
    for name in ("clauses.md", "error-paths.md", "interfaces.md", "gradients.md", "tf.keras.layers.RNN.txt"):
        assert (SPEC_DIR / name).read_text() == (shared / name).read_text(), f"{name} differs from ../shared/spec"
