"""Site configuration: the laboratory's reference-interval table.

ULNs are lab-specific (criteria.md, "Units and reference ranges"): the ULN of
an AST, ALT or bilirubin result is its own ``referenceRange.high``; only when
that is absent is the site's configured table used (in China, WS/T 780-2021
for children and WS/T 404 for adults; clinical.md section 10). trialdesk ships
no table: a site writes its own YAML file::

    source: "Central lab, WS/T 780-2021 and WS/T 404.1-2012, reviewed 2026-01"
    intervals:
      - {measure: alt, sex: male, age_from: 0, age_to: 18, high: 40, unit: U/L}

``age_from`` is inclusive and ``age_to`` exclusive (completed years); ``sex``
is male, female or any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from trialdesk.errors import ProtocolValidationError
from trialdesk.protocol.rules import _fields


@dataclass(frozen=True, slots=True)
class Interval:
    measure: str
    sex: str
    age_from: float
    age_to: float
    high: float
    unit: str


@dataclass(frozen=True)
class ReferenceIntervals:
    source: str
    intervals: tuple[Interval, ...]

    def upper_limit(self, measure: str, sex: str | None, age: int | None) -> Interval | None:
        """The interval for a measure, sex and age; None when none fits (or age/sex unknown)."""
        if age is None:
            return None
        for i in self.intervals:
            if i.measure == measure and i.sex in ("any", sex) and i.age_from <= age < i.age_to:
                return i
        return None


def load_reference_intervals(path: Path | str) -> ReferenceIntervals:
    """Read a site's table strictly (unknown keys and bad values are errors with their row)."""
    where = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolValidationError(where, f"cannot read: {exc}") from None
    head = _fields(where, raw, {"source", "intervals"}, {"source", "intervals"})
    rows = []
    for n, row in enumerate(head["intervals"]):
        here = f"{where}: intervals[{n}]"
        f = _fields(here, row, {"measure", "sex", "age_from", "age_to", "high", "unit"},
                    {"measure", "sex", "age_from", "age_to", "high", "unit"})
        if f["sex"] not in ("male", "female", "any"):
            raise ProtocolValidationError(here, "sex is male, female or any")
        if not (isinstance(f["high"], (int, float)) and f["high"] > 0):
            raise ProtocolValidationError(here, f"high must be a positive number, got {f['high']!r}")
        rows.append(Interval(f["measure"], f["sex"], float(f["age_from"]), float(f["age_to"]),
                             float(f["high"]), str(f["unit"])))
    return ReferenceIntervals(str(head["source"]), tuple(rows))
