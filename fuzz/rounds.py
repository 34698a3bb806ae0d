"""A driver's Hypothesis rounds: the test each round runs, its seed, and the exceptions that end a
round (a discrepancy to shrink, or time and examples spent)."""
import hashlib
import random

from hypothesis import core, given

from rnnconf.engine import judge as judgement

from . import strategies


class StopRound(BaseException):
    """Out of time or examples: a BaseException, so Hypothesis neither shrinks nor retries it."""
class Discrepancy(Exception):
    def __init__(self, verdict):
        super().__init__(verdict["detail"])
        self.verdict = verdict


# One exception class per kind: Hypothesis tells failures apart by class, and must not trade a
# value discrepancy for an error one while shrinking.
DISCREPANCY_KINDS = {k: type(f"{k.title()}Discrepancy", (Discrepancy,), {}) for k in judgement.KIND_ORDER}


def round_seed(seed, shard, driver, round_number):
    text = f"{seed}/{shard[0]}/{shard[1]}/{driver[0]}/{driver[1]}/{round_number}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def make_case_test(examine):
    # The function's source names Hypothesis's database key: keep it stable so replays find it.
    @given(case=strategies.cases())
    def fuzz_cases(case):
        examine(case)
    return fuzz_cases


def seed_hypothesis(value):
    """Make the next Hypothesis run draw from `value`. The public @seed would do it, but it also
    turns the example database off, and the database is what replays a found failure first; so seed
    the generator Hypothesis uses for unseeded runs. Returns False where that is not possible (then
    the caller falls back to @seed, without replay)."""
    local = getattr(core, "threadlocal", None)
    if local is None or not hasattr(local, "_hypothesis_global_random"):
        return False
    local._hypothesis_global_random = random.Random(value)
    return True
