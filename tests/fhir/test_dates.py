"""FHIR date and dateTime strings -> calendar dates."""

from __future__ import annotations

from datetime import date

import pytest

from trialdesk.patient.fhir.common import parse_date


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024", (date(2024, 1, 1), "year")),
        ("2024-02", (date(2024, 2, 1), "month")),
        ("2024-02-29", (date(2024, 2, 29), "day")),
        ("2024-02-29T23:59:59+14:00", (date(2024, 2, 29), "day")),
        ("2024-03-01T00:30:00-10:00", (date(2024, 3, 1), "day")),
        ("2024-03-01T00:30:00.123Z", (date(2024, 3, 1), "day")),
        ("2024-03-01T00:30", (date(2024, 3, 1), "day")),
    ],
)
def test_dates_as_written(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "24", "2023-02-29", "2024-13", "0000", "2024/03/01", "01-03-2024", "2024-03-01 10:00",
     "2024-03-01Tnoon", "yesterday"],
)
def test_unparseable(text):
    assert parse_date(text) is None
