"""Shared fixtures of the population tests: one synthetic population written both ways.

Session-scoped: the population is generated once and written once as OMOP Parquet (all
population tests) and as FHIR bundles (the parity test only asks for those).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trialdesk.protocol.load import load
from trialdesk.synth import Population, generate, write_fhir, write_omop

from .support import PERSONS, SEED


@pytest.fixture(scope="session")
def pop_protocol():
    return load()


@pytest.fixture(scope="session")
def synth_population() -> Population:
    return generate(PERSONS, seed=SEED)


@pytest.fixture(scope="session")
def omop_dir(synth_population, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("omop")
    write_omop(synth_population, out)
    return out


@pytest.fixture(scope="session")
def fhir_dir(synth_population, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fhir")
    write_fhir(synth_population, out)
    return out
