"""Features the implementation refuses every time: drawn cases using them are mostly not run.

A case is "unsupported" where the implementation lacks a feature it uses (rnnconf.engine.capabilities:
Keras 3 refuses `time_major=True` at construction). Such a refusal costs a fresh layer on both sides
and checks nothing, and a strategy drawing over the whole space keeps drawing the feature. Once the implementation has refused a feature in LEARN_AFTER
verdicts (a refused drawn case stops after two: fuzz.driver.REFUSED_VARIANTS) and never accepted
it, only one drawn case in SAMPLE that uses it is run; the others are rejected before running
(Hypothesis draws another) and counted, so the report can say what was not run and why. A refused
feature stays sampled, and one accepted even once is drawn as usual again.
"""
import hashlib
import json
from collections import Counter

from rnnconf.engine.capabilities import features_used

LEARN_AFTER = 8
SAMPLE = 8
# A run that used the feature and got this far accepted it; an error may be the feature's refusal in
# words capabilities does not recognise, so it proves nothing.
ACCEPTING_KINDS = (None, "structure", "shape", "dtype", "value")


def _used(case):
    names, ctor_args, call_args = features_used(case)
    return names | ctor_args | call_args


class Refusals:
    def __init__(self, seed):
        self.seed = seed
        self.refused, self.accepted = Counter(), Counter()
        self.skipped = Counter()  # feature -> drawn cases not run, since the last take_skipped()

    def learn(self, verdict):
        """Account one verdict of a drawn case (not of a shrink run)."""
        if verdict.get("missing"):
            self.refused[verdict["missing"]] += 1
        elif verdict["kind"] in ACCEPTING_KINDS and not verdict["oracle_error"] and not verdict["unsupported"]:
            for feature in _used(verdict["case"]):
                self.accepted[feature] += 1

    def refused_always(self):
        return {f for f, n in self.refused.items() if n >= LEARN_AFTER and not self.accepted[f]}

    def skip(self, case):
        """The refused feature `case` uses if it is not to be run (counted as skipped), else None.
        Which cases run is a function of the case and the campaign's seed, so a replay skips the same."""
        return self.skip_features(_used(case), json.dumps(case, sort_keys=True))

    def skip_features(self, used, key, count=1):
        """skip() for what `used` (feature names) describes, `key` naming it for the sampling; a skip
        counts `count` drawn cases (a stateful round's machines)."""
        refused = sorted(self.refused_always() & set(used))
        if not refused:
            return None
        if int(hashlib.sha256(f"{self.seed}/{key}".encode()).hexdigest()[:8], 16) % SAMPLE == 0:
            return None
        self.skipped[refused[0]] += count
        return refused[0]

    def take_skipped(self):
        """{feature: drawn cases skipped} since the last call, for the log."""
        out, self.skipped = dict(self.skipped), Counter()
        return out
