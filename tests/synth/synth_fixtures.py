"""Fixtures of the synth tests (imported by each test module: a conftest.py here would shadow
the `from conftest import ...` of the other test folders)."""

from __future__ import annotations

import pytest

from trialdesk.synth import generate

SEED = 7


@pytest.fixture(scope="session")
def population():
    """6,000 persons: enough for every facet option to occur among complete cohort patients."""
    return generate(6000, seed=SEED)
