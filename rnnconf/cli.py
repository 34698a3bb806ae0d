"""The `rnnconf` command line (interfaces.md section 2). Filled in by the fuzzer/CLI work."""
import sys


def main(argv=None):
    print("rnnconf: not implemented yet", file=sys.stderr)
    return 2
