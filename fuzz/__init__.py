"""The differential fuzzer: generation and campaigns.

strategies.py    Hypothesis strategies drawing cases (plain dicts, rnnconf.engine.cases)
machine.py       stateful campaigns as a RuleBasedStateMachine
differential.py  one example end to end: both outcomes, the engine's judge, clause ids
refusals.py      features the implementation always refuses: drawn cases using them mostly not run
driver.py        one driver: Hypothesis rounds over both workers (rnnconf.adapters.worker), shrinking;
                 databases.py its example databases, budgets.py its variants and shrink budgets
logs.py          the campaign's append-only logs, read back into results.json
campaign.py      drivers in processes, stopped at the deadline, resumed from their logs

Reproducers are a report (rnnconf.reports.repro). Hypothesis profiles are registered here, explicitly,
and loaded by name where they are used (CI=true makes Hypothesis auto-load its own `ci` profile otherwise).
"""
from hypothesis import HealthCheck, Phase, Verbosity, settings

_QUIET = dict(deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
# The project's tests: derandomized and bounded, so CI is reproducible.
settings.register_profile("rnnconf-ci", max_examples=30, derandomize=True, database=None, **_QUIET)
# Interactive work on the strategies.
settings.register_profile("rnnconf-dev", max_examples=100, derandomize=False, **_QUIET)
# The campaign's base settings (seed, example count and database are set per round). derandomize is
# pinned off: with CI=true the profiles would otherwise inherit it from Hypothesis's `ci` profile,
# and every round would draw the same examples.
settings.register_profile("rnnconf-campaign", max_examples=100, derandomize=False,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                          report_multiple_bugs=False, verbosity=Verbosity.quiet, **_QUIET)
