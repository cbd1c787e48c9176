"""Speed of read_bundle on the shared Synthea bundles (not a test; run it by hand).

    .venv/bin/python tests/fhir/bench_read_bundle.py [--fhir-resources]

With ``--fhir-resources`` it also times ``fhir.resources`` R4B ``Bundle``
parsing (the ``bench`` extra) on the first ten bundles, for comparison.
"""

from __future__ import annotations

import sys
import time

from fhir_bundles import SHARED_DATA

from trialdesk.patient.fhir import read_bundle


def best_seconds(run, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    datas = [p.read_bytes() for p in sorted((SHARED_DATA / "synthea_r4_bundles").glob("*.json"))]
    megabytes = sum(map(len, datas)) / 1e6
    seconds = best_seconds(lambda: [read_bundle(d, "bench") for d in datas])
    print(f"read_bundle: {len(datas)} bundles ({megabytes / len(datas):.2f} MB each): "
          f"{seconds / len(datas) * 1e3:.2f} ms/bundle, {len(datas) / seconds:.0f} bundles/s")
    if "--fhir-resources" in sys.argv:
        from fhir.resources.R4B.bundle import Bundle

        ten = datas[:10]
        seconds = best_seconds(lambda: [Bundle.model_validate_json(d) for d in ten], rounds=2)
        print(f"fhir.resources R4B Bundle.model_validate_json: {seconds / len(ten) * 1e3:.1f} ms/bundle, "
              f"{len(ten) / seconds:.1f} bundles/s")


if __name__ == "__main__":
    main()
