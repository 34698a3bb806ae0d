"""How an `rnnconf` run ends and what it says: exit statuses, the errors that end a run, one-line messages."""
import sys

USAGE, FOUND, OK = 2, 1, 0


INTERNAL = 3  # rnnconf itself failed: never to be read as "found" (1) by a CI script


class UsageError(Exception):
    """One line for stderr; exit status 2."""


class Incomplete(Exception):
    """A stage did not finish (timed out, crashed, collected nothing): one line for stderr, exit 2."""


def say(text):
    print(f"rnnconf: {text}", file=sys.stderr, flush=True)
