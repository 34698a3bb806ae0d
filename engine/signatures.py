"""A failure's fingerprint (judge.fingerprint) as one string: what the campaign's log and results.json
key discrepancies by, and what a known-differences entry of the `signature` field names; and how two
fingerprints relate: the same failure while shrinking, a known one explaining another, a shared
cause (the judge's vocabulary: judge re-exports these names)."""


def signature(fp):
    """A fingerprint as one string (what the campaign's log and results.json key discrepancies by)."""
    return f"{fp['kind']} | {fp['core']} | {', '.join(fp['features'])}"


def _cell_feature(feature):
    """Whether a feature only says which cell runs: its kind, or an option of one kind."""
    name = feature.split("=", 1)[0]
    return feature.startswith(("cell:", "layer:")) or ("." in name and "=" in feature)


DISGUISED_KINDS = ("value", "dtype", "shape", "structure")


def shared_cause(a, b):
    """The features that may be one bug behind failures `a` and `b` (fingerprints with essential
    features), or None. Both must be of one kind that can show in several places (a value, dtype,
    shape or nesting: not an error, whose core names what raised), the dtype ones of the same wrong
    dtype; they share features beyond a cell kind (a cell kind alone is too common a cause: several
    bugs of one cell are no rarity); and one of them needs nothing beyond the shared features but
    its cell. Whether they are one bug is then for the runs to say (both cases pass without the
    shared features): this only picks the candidates. Where one is an error, see _shared_error_cause."""
    if a is None or b is None:
        return None
    if "error" in (a["kind"], b["kind"]):
        return _shared_error_cause(a, b)
    if a["kind"] != b["kind"] or a["kind"] not in DISGUISED_KINDS:
        return None
    if a["kind"] == "dtype" and a["core"].rsplit(" ", 1)[-1] != b["core"].rsplit(" ", 1)[-1]:
        return None
    shared = sorted(set(a["features"]) & set(b["features"]))
    if not any(not _cell_feature(f) for f in shared):
        return None
    extra_a, extra_b = set(a["features"]) - set(shared), set(b["features"]) - set(shared)
    if not (all(map(_cell_feature, extra_a)) or all(map(_cell_feature, extra_b))):
        return None
    return shared


def _shared_error_cause(a, b):
    """shared_cause where one of `a`, `b` is an error. Two errors with one core (the same classes and
    message shape: one raise) reached through other features: the features they share, where more than
    a cell kind. Otherwise the error must need every feature of the other failure and more
    (cause_beneath): that failure's features, where more than a cell kind. Else None."""
    if a["kind"] == b["kind"] == "error" and a["core"] == b["core"]:
        shared = sorted(set(a["features"]) & set(b["features"]))
        return shared if any(not _cell_feature(f) for f in shared) else None
    pair = cause_beneath(a, b)
    if pair is None:
        return None
    cause = pair[0]
    return sorted(cause["features"]) if any(not _cell_feature(f) for f in cause["features"]) else None


def cause_beneath(a, b):
    """(cause, error) where one of failures `a`, `b` is an error of another core than the other and
    needs every feature of the other and more: a candidate for the other's cause reached through more
    features (a float64 stack computed in float32, which a mask's select then refuses: "expected a
    double tensor but is a float tensor"). The runs decide (fuzz.driver: the error's case without its
    extra features fails as the cause does). None otherwise."""
    for cause, error in ((a, b), (b, a)):
        if error["kind"] != "error" or (cause["kind"] == "error" and cause["core"] == error["core"]):
            continue
        if set(cause["features"]) < set(error["features"]):
            return cause, error
    return None


def same_failure(target, fp):
    """Whether `fp` is the failure `target` while shrinking: same kind and core, whatever the features."""
    return fp is not None and fp["kind"] == target["kind"] and fp["core"] == target["core"]


def explains(known, fp):
    """Whether the known (shrunk) discrepancy `known` accounts for failure `fp`: the same failure, in
    a case that has every feature the known one needs. A wrong value also shifts the distribution of
    that value under dropout, so a known value failure explains the same result's distribution failure;
    and a wrong first call, the wrong values of later calls."""
    if fp is None or fp["kind"] != known["kind"]:
        return False
    core = fp["core"].removeprefix(DISTRIBUTION)
    same = known["core"] in (fp["core"], core)
    if not same and known["kind"] == "value" and known["core"].endswith(FIRST_CALL):
        # A wrong first call hands its states to every later call: it explains their wrong values too.
        same = core.endswith(LATER_CALL)
    return same and set(known["features"]) <= set(fp["features"])


FIRST_CALL, LATER_CALL = " of the first call", " of a later call"


DISTRIBUTION = "distribution of the "
