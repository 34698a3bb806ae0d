"""What a campaign spends where: the data variants of each drawn case, and the time to shrink each
discrepancy (read by the drivers, the campaign and the command line's defaults)."""

SHRINK_BUDGET_S = 60.0      # per discrepancy at most, and never past the campaign's deadline
# A shorter campaign shrinks each discrepancy for SHRINK_SHARE of its fuzzing time (SHRINK_BUDGET_MIN_S at
# least): Keras 3 shows 13-17 distinct discrepancies in five minutes, and a minute's shrink for each left
# that campaign a third of its time to look for more. Most of a shrink's reduction comes early (bench/README).
SHRINK_SHARE = 0.05
SHRINK_BUDGET_MIN_S = 10.0
SHRINK_MAX_RUNS = 400
VARIANTS = 64               # data variants per drawn case, on the same built layers (see Driver.examine)
# Variants of a drawn case that either side cannot trace (tf_keras: stateful stacks given initial_state;
# Keras 3 on TensorFlow: stacks of float64 cells) run eagerly at 15-70 ms each; a few of them cover the
# data, 64 would cost the campaign a quarter of its time.
UNTRACEABLE_VARIANTS = 8
# Variants of a drawn case with dropout while training: each is judged on dropout.SAMPLES samples a side.
STOCHASTIC_VARIANTS = 2
# A refusal is structural, not about the data: a feature the case uses or a conversion of its layer is
# unsupported, or the implementation raises where the oracle returns (a known discrepancy: a new one ends the
# round). A drawn case refused this many times in a row stops there: a refused run keeps no layer to reuse,
# so each further variant would build one (a converter would try a conversion of seconds) to repeat it.
REFUSED_VARIANTS = 2


def shrink_budget(fuzz_seconds):
    """Seconds to shrink one discrepancy in a campaign of `fuzz_seconds` (None or inf: no deadline)."""
    if fuzz_seconds is None:
        return SHRINK_BUDGET_S
    return min(SHRINK_BUDGET_S, max(SHRINK_BUDGET_MIN_S, SHRINK_SHARE * fuzz_seconds))
