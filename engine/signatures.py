"""A failure's fingerprint (judge.fingerprint) as one string: what the campaign's log and results.json
key discrepancies by, and what a known-differences entry of the `signature` field names."""


def signature(fp):
    """A fingerprint as one string (what the campaign's log and results.json key discrepancies by)."""
    return f"{fp['kind']} | {fp['core']} | {', '.join(fp['features'])}"
