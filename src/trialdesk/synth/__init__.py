"""Synthetic populations for trialdesk (CAR-NK trial, SLE and SRNS cohorts).

:func:`generate` builds a population as columnar numpy tables (vectorised, in chunks of
:data:`CHUNK_SIZE` persons); :func:`write_omop` writes OMOP CDM v5.4 Parquet (streaming
the chunks when given :class:`SynthParams`, so a million persons never sit in memory);
:func:`write_fhir` writes one FHIR R4 Bundle per person. The same person means the same
thing in both formats: both writers render the same rows, FHIR ``Patient.id`` is OMOP
``person_source_value``, and FHIR resource ids carry the OMOP row ids.

The mix (see :func:`describe_mix` for every facet):

| group | share | cohorts |
|---|---:|---|
| general | 74 % | - (ordinary conditions, labs, vitals, vaccines, drugs, allergies) |
| sle-like | 3 % | - (rheumatoid arthritis, ANA 1:80-1:160, hydroxychloroquine, EULAR/ACR < 10) |
| renal-other | 3 % | - (CKD 1-4, IgA nephropathy, dialysis, reported eGFR) |
| sle | 10 % | SLE (age 5-70, 90 % female) |
| srns | 6.5 % | SRNS (age 3-40, 60 % children) |
| ns-other | 2.5 % | SRNS (steroid-sensitive/-dependent/unspecified NS: fails SRNS-DIAGNOSIS) |
| srns-sle | 1 % | SLE and SRNS (SRNS with SLE comorbidity) |

Cohort patients: complete 40 %, partial 25 %, stale 15 %, history only 10 %, diagnosis only
10 %; a quarter have the "clean" profile (no edge, no exclusion), the rest draw every edge
facet (thresholds, windows, units, serology, FOCBP, attestations, treatment histories).

>>> from trialdesk.synth import generate
>>> pop = generate(200, seed=1)
>>> len(pop)
200
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trialdesk.synth._fhir import write_fhir
from trialdesk.synth._generate import CHUNK_SIZE, chunks
from trialdesk.synth._mix import describe_mix
from trialdesk.synth._omop import write_tables
from trialdesk.synth._population import Population

__all__ = ["CHUNK_SIZE", "Population", "SynthParams", "chunks", "describe_mix", "generate", "write_fhir",
           "write_omop"]

AS_OF = date(2026, 3, 2)


@dataclass(frozen=True)
class SynthParams:
    """What to generate, for :func:`write_omop` to stream chunk by chunk."""

    persons: int
    seed: int = 0
    as_of: date = AS_OF
    chunk_size: int = CHUNK_SIZE


def generate(persons: int, seed: int = 0, as_of: date = AS_OF) -> Population:
    """Generate ``persons`` persons, deterministically for ``(persons, seed, as_of)``.

    Args:
        persons: how many persons (at least 1).
        seed: the random seed.
        as_of: the screening date the population is built around.

    Returns:
        The population, columnar (see :class:`Population`).
    """
    parts = list(chunks(persons, seed, as_of))
    if not parts:
        raise ValueError("persons must be at least 1")
    return Population.concat(parts)


def write_omop(population_or_params: Population | SynthParams | Iterable[Population],
               out_dir: Path | str) -> dict[str, Path]:
    """Write OMOP CDM v5.4 Parquet files (one per table, written atomically) to ``out_dir``.

    Args:
        population_or_params: a generated population, the parameters of one (generated and
            written chunk by chunk, in bounded memory), or an iterable of population chunks.
        out_dir: the folder (created if needed).

    Returns:
        table name -> path of its Parquet file.
    """
    if isinstance(population_or_params, Population):
        parts: Iterable[Population] = [population_or_params]
    elif isinstance(population_or_params, SynthParams):
        p = population_or_params
        parts = chunks(p.persons, p.seed, p.as_of, p.chunk_size)
    else:
        parts = population_or_params
    return write_tables(parts, out_dir)
