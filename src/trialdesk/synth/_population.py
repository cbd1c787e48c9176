"""The generated population: one numpy array per column, one table per kind of record.

Every event table carries ``person_id`` and its own ``row_id``, the id the OMOP writer
uses as the table's primary key and the FHIR writer puts into the resource id
(``Observation/m<row_id>`` and so on), so the same record can be found in both
formats. Codes are indices into :data:`~trialdesk.synth._catalogue.CONCEPTS`; dates
are days since 1970-01-01 (int32), with :data:`NONE` for "no date" (an open end).

Tables (columns beyond ``person_id`` and ``row_id``):

- ``persons``: ``gender`` (0 female, 1 male, 2 unknown), ``birth`` (earliest possible
  day), ``birth_precision`` (0 day, 1 month, 2 year), ``group`` and ``completeness``
  (indices into :mod:`~trialdesk.synth._mix`), and one int8 column per facet
  (``f_<facet>``, -1 where the facet does not apply).
- ``measurements``: ``code``, ``day``, ``value`` (NaN: none), ``unit`` (-1: none),
  ``high`` (referenceRange.high / range_high, NaN: none), ``vconcept`` (coded value, -1: none).
- ``conditions``: ``code``, ``onset``, ``abatement`` (NONE: active, open), ``active``.
- ``procedures``: ``code``, ``day``.
- ``drugs``: ``code``, ``start``, ``end`` (NONE: ongoing), ``mg`` (mg/day, NaN: no dose), ``cn``
  (the drug's text is its Chinese name).
- ``immunizations``: ``code``, ``day``.
- ``allergies``: ``code`` (substance), ``type``, ``criticality``, ``severity`` (-1: none),
  ``manifestation`` (condition concept or -1), ``day``.
- ``attestations``: ``code``, ``day``, ``value``, ``provider``.
- ``consents``: ``day``. ``studies``: ``study``, ``start``, ``end`` (NONE: open).
- ``assessments``: ``code``, ``day``, ``value`` (recorded total / score, NaN: none), ``unit``.
- ``components``: ``assessment_id`` (row_id of its assessment), ``code``, ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

NONE = np.iinfo(np.int32).min
EPOCH = date(1970, 1, 1)

TABLES: dict[str, dict[str, str]] = {
    "persons": {"person_id": "i8", "gender": "i1", "birth": "i4", "birth_precision": "i1", "group": "i1",
                "completeness": "i1"},
    "measurements": {"person_id": "i8", "row_id": "i8", "code": "i2", "day": "i4", "value": "f8", "unit": "i1",
                     "high": "f8", "vconcept": "i2"},
    "conditions": {"person_id": "i8", "row_id": "i8", "code": "i2", "onset": "i4", "abatement": "i4",
                   "active": "?"},
    "procedures": {"person_id": "i8", "row_id": "i8", "code": "i2", "day": "i4"},
    "drugs": {"person_id": "i8", "row_id": "i8", "code": "i2", "start": "i4", "end": "i4", "mg": "f8", "cn": "?"},
    "immunizations": {"person_id": "i8", "row_id": "i8", "code": "i2", "day": "i4"},
    "allergies": {"person_id": "i8", "row_id": "i8", "code": "i2", "type": "i1", "criticality": "i1",
                  "severity": "i1", "manifestation": "i2", "day": "i4"},
    "attestations": {"person_id": "i8", "row_id": "i8", "code": "i2", "day": "i4", "value": "?", "provider": "i1"},
    "consents": {"person_id": "i8", "row_id": "i8", "day": "i4"},
    "studies": {"person_id": "i8", "row_id": "i8", "study": "i1", "start": "i4", "end": "i4"},
    "assessments": {"person_id": "i8", "row_id": "i8", "code": "i2", "day": "i4", "value": "f8", "unit": "i1"},
    "components": {"person_id": "i8", "row_id": "i8", "assessment_id": "i8", "code": "i2", "value": "?"},
}
#: OMOP table (row-id sequence) -> the event tables whose rows it holds, in id order.
SEQUENCES: dict[str, tuple[str, ...]] = {
    "measurement": ("measurements",), "condition": ("conditions",), "procedure": ("procedures",),
    "drug": ("drugs", "immunizations"),
    "observation": ("attestations", "assessments", "components", "allergies", "consents", "studies"),
}


@dataclass
class Population:
    """A generated population (or one chunk of it), columnar.

    ``tables`` maps a table name of :data:`TABLES` to its columns; rows of every event
    table are sorted by ``person_id``. ``as_of`` is the screening date the population
    was generated for, ``seed`` the seed.
    """

    seed: int
    as_of: date
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def persons(self) -> dict[str, np.ndarray]:
        return self.tables["persons"]

    def __len__(self) -> int:
        return len(self.tables["persons"]["person_id"])

    def rows(self) -> dict[str, int]:
        """Row count of every table."""
        return {name: len(next(iter(cols.values()))) for name, cols in self.tables.items()}

    def person_source_value(self, person_id: np.ndarray | int) -> np.ndarray | str:
        """``Patient.id`` = OMOP ``person_source_value`` of one or more persons."""
        if np.isscalar(person_id):
            return f"s{self.seed}-p{int(person_id):07d}"
        return np.array([f"s{self.seed}-p{int(p):07d}" for p in np.asarray(person_id)], dtype=object)

    @staticmethod
    def concat(parts: list[Population]) -> Population:
        """One population from consecutive chunks (same seed and as_of)."""
        first = parts[0]
        tables = {name: {col: np.concatenate([p.tables[name][col] for p in parts]) for col in first.tables[name]}
                  for name in first.tables}
        return Population(first.seed, first.as_of, tables)

    def select(self, person_ids: np.ndarray) -> Population:
        """The sub-population of the given persons (all their rows)."""
        keep = np.asarray(person_ids)
        out = {}
        for name, cols in self.tables.items():
            mask = np.isin(cols["person_id"], keep)
            out[name] = {c: v[mask] for c, v in cols.items()}
        return Population(self.seed, self.as_of, out)


def to_date(day: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(day))


def to_day(d: date) -> int:
    return d.toordinal() - EPOCH.toordinal()
