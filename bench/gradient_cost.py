"""What gradient checks cost a campaign: one drawn example stream, run with gradients off and on, paired.

    python bench/gradient_cost.py [--draws 40] [--variants 16] [--rounds 2] [--impl reference] [--campaign S]

The stream is drawn once as the campaign draws it (bench/throughput.py's draw_stream, gradients not
drawn), each drawn case with its data variants. "on" is the same stream with every case that can
differentiate set to (`gradients`: no Embedding, no dropout while training, as fuzz/strategies.py
draws them). Each round runs off then on through the campaign's pipelined path (one driver, its
oracle and implementation workers: throughput.measure), so the two rates of a round come from the
same minutes of a shared machine. Printed per round: examples/s off and on, and the per-example
time ratio; at the end the median ratio r and the rate a campaign drawing gradients for one drawn
case in N keeps, 1 / (1 - 1/N + r/N) of the rate without.

`--campaign S` also times real S-second fuzz-only campaigns (`rnnconf check --skip-suite`, one worker,
bench/throughput.py's campaign_rate), RNNCONF_GRADIENT_EVERY=0 then the campaign's own rate in each
round: examples/s, between shrinks, and the gradient checks the "on" campaign made.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import throughput  # noqa: E402
from fuzz import driver, strategies  # noqa: E402


def differentiating(stream):
    from conformance.cases import is_stochastic, normalize
    out = []
    for block in stream:
        out.append([dict(c, gradients=True) if not normalize(c)["embedding"] and not is_stochastic(normalize(c))
                    else c for c in block])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", default="reference")
    parser.add_argument("--oracle", default="tf_keras")
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--variants", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--campaign", type=float, default=0, metavar="S",
                        help="also time real S-second campaigns, gradients off and on, in each round")
    parser.add_argument("--skip-stream", action="store_true", help="the campaigns only")
    args = parser.parse_args()
    os.environ["RNNCONF_GRADIENT_EVERY"] = "0"  # the stream as drawn without gradients; "on" adds them
    stream, _ = throughput.draw_stream(args.draws, args.variants, args.seed)
    on = differentiating(stream)
    share = sum(c.get("gradients", False) for b in on for c in b) / sum(len(b) for b in on)
    print(f"{sum(len(b) for b in stream)} examples in {len(stream)} drawn cases; {share:.0%} of them differentiate when on")
    ratios = []
    for r in range(0 if args.skip_stream else args.rounds):
        off_row = throughput.measure("differential", args.impl, args.oracle, stream, 1)
        on_row = throughput.measure("differential", args.impl, args.oracle, on, 1)
        ratio = off_row["rate"] / on_row["rate"]
        ratios.append(ratio)
        print(f"round {r + 1}: off {off_row['rate']:.1f} examples/s ({off_row['examples']}), on {on_row['rate']:.1f} "
              f"examples/s ({on_row['examples']}); time per example x{ratio:.2f}; per example off "
              f"{off_row['per_example_ms']}, on {on_row['per_example_ms']}")
    if ratios:
        r = statistics.median(ratios)
        print(f"median time ratio on/off: {r:.2f} (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
        for every in (1, 4, 8, 16):
            print(f"  gradients on 1 drawn case in {every}: {1 / (1 - 1 / every + r / every):.0%} of the rate without")
    if args.campaign:
        for r in range(args.rounds):
            for every in ("0", str(strategies.GRADIENT_EVERY)):
                os.environ["RNNCONF_GRADIENT_EVERY"] = every
                rate, results = throughput.campaign_rate(args.impl, 1, args.campaign, driver.VARIANTS)
                checks = results.get("gradient_checks") or {}
                print(f"campaign round {r + 1}, gradients on 1 drawn case in {every}: {results['examples']} examples, "
                      f"{rate:.1f} examples/s ({throughput.between_shrinks(results, 1):.1f} between shrinks), "
                      f"{len(results['discrepancies'])} discrepancies; gradient checks {checks or 0}")


if __name__ == "__main__":
    main()
