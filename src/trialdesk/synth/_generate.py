"""Chunked, vectorised generation: :func:`chunks` yields the population chunk by chunk.

Each chunk of persons is generated on its own random stream (seeded by the seed and
the chunk number), so a population is the same for the same ``(persons, seed, as_of,
chunk_size)`` however it is consumed, and memory stays bounded by the chunk size.
Row ids continue across chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np

from trialdesk.synth._background import background
from trialdesk.synth._chunk import Chunk
from trialdesk.synth._cohorts import nephrotic, renal_other, sle, sle_like
from trialdesk.synth._people import draw_facets, people
from trialdesk.synth._population import SEQUENCES, Population, to_day
from trialdesk.synth._screening import exclusions, screening

CHUNK_SIZE = 50_000


def chunks(persons: int, seed: int = 0, as_of: date = date(2026, 3, 2),
           chunk_size: int = CHUNK_SIZE) -> Iterator[Population]:
    """The population of ``persons`` persons, as consecutive chunks of ``chunk_size``."""
    if persons < 0:
        raise ValueError(f"persons must be >= 0, got {persons}")
    counters = dict.fromkeys(SEQUENCES, 1)
    day = to_day(as_of)
    for k, first in enumerate(range(0, persons, chunk_size)):
        c = Chunk(seed, k, first + 1, min(chunk_size, persons - first), day)
        people(c)
        draw_facets(c)
        no_drugs = np.zeros(c.n, bool)
        no_drugs[sle(c)] = True
        nephrotic(c)
        sle_like(c)
        renal_other(c)
        screening(c)
        exclusions(c)
        background(c, no_drugs)
        yield c.finish(counters, as_of)
