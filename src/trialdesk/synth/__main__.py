"""``python -m trialdesk.synth PERSONS OUT [--seed N] [--as-of DATE] [--format omop|fhir]``."""

from __future__ import annotations

import argparse
import time
from datetime import date

from trialdesk.synth import SynthParams, describe_mix, generate, write_fhir, write_omop


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m trialdesk.synth", description=__doc__)
    parser.add_argument("persons", type=int, nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 2))
    parser.add_argument("--format", choices=("omop", "fhir"), default="omop")
    parser.add_argument("--mix", action="store_true", help="print the population mix and exit")
    args = parser.parse_args()
    if args.mix or args.persons is None or args.out is None:
        print(describe_mix())
        return
    start = time.perf_counter()
    if args.format == "omop":
        paths = write_omop(SynthParams(args.persons, args.seed, args.as_of), args.out)
        print(f"wrote {len(paths)} tables to {args.out}")
    else:
        paths = write_fhir(generate(args.persons, args.seed, args.as_of), args.out)
        print(f"wrote {len(paths)} bundles to {args.out}")
    print(f"{args.persons} persons in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
