"""How fast 100,000 persons are generated and written as OMOP Parquet (printed, not asserted)."""

from __future__ import annotations

import resource
import time

from trialdesk.synth import SynthParams, write_omop


def test_print_the_time_for_100k_persons(tmp_path, capsys):
    start = time.perf_counter()
    paths = write_omop(SynthParams(100_000, seed=0), tmp_path)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in paths.values()) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    with capsys.disabled():
        print(f"\nsynth: 100,000 persons generated and written as OMOP Parquet in {seconds:.1f} s "
              f"({size:.0f} MiB; peak RSS of the test process {peak:.0f} MiB)")
