"""What one evaluation sees: the protocol, one patient's record, the dates,
and indexes of the record by value set (built once, on first use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from trialdesk.engine.ast.base import Window
from trialdesk.engine.match import Matcher, is_systemic
from trialdesk.patient.model import DataIssue, MedicationExposure, Observation, PatientRecord
from trialdesk.protocol.model import Measure, Protocol
from trialdesk.protocol.references import drug_valuesets
from trialdesk.site import ReferenceIntervals


def matcher_for(protocol: Protocol) -> Matcher:
    """The protocol's matcher, built once and kept with the protocol."""
    m = protocol.lookups.get("matcher")
    if m is None:
        m = protocol.lookups["matcher"] = Matcher(protocol)
    return m  # type: ignore[return-value]


@dataclass
class Context:
    protocol: Protocol
    record: PatientRecord
    dates: dict[str, date]
    reference_intervals: ReferenceIntervals | None = None
    issues: list[DataIssue] = field(default_factory=list)
    _obs: dict[str, list[Observation]] | None = None
    _tags: dict[int, frozenset[str]] = field(default_factory=dict)
    _codeless: list[DataIssue] | None = None

    def __post_init__(self) -> None:
        self.matcher = matcher_for(self.protocol)

    @property
    def as_of(self) -> date:
        return self.dates["as_of"]

    def window_bounds(self, window: Window) -> tuple[date | None, date]:
        end = self.dates[window.anchor]
        return window.start(end), end

    def describe_window(self, window: Window) -> str:
        start, end = self.window_bounds(window)
        return f"on or before {end}" if start is None else f"dated {start} to {end}"

    def freshness(self, measure: Measure) -> Window:
        return Window(measure.freshness)

    def tags(self, item: object, by_name: bool = False) -> frozenset[str]:
        """Value sets an entry's codes (and, for drugs, names) belong to."""
        key = id(item)
        if key not in self._tags:
            self._tags[key] = self.matcher.valuesets(item.codes, getattr(item, "text", None), by_name)  # type: ignore[attr-defined]
        return self._tags[key]

    def observations(self, measure_id: str) -> list[Observation]:
        """Dated observations of a measure, newest first (indexed once per patient)."""
        if self._obs is None:
            by_valueset: dict[str, list[Observation]] = {}
            # bundle order reversed, then a stable sort by date: of two results on one day, the one
            # entered later (a form entry is appended to the bundle) comes first
            for o in reversed(self.record.observations):
                if o.date is not None:
                    for vs in self.tags(o):
                        by_valueset.setdefault(vs, []).append(o)
            for found in by_valueset.values():
                found.sort(key=lambda o: o.date, reverse=True)  # type: ignore[arg-type, return-value]
            self._obs = by_valueset
        return self._obs.get(self.protocol.measures[measure_id].valueset, [])

    def medications(self, drugs: tuple[str, ...]) -> list[tuple[MedicationExposure, frozenset[str]]]:
        """Systemic exposures to any of ``drugs`` (groups expanded) started on or before
        screening, with the drug value sets each matched."""
        wanted = set(drug_valuesets(self.protocol, drugs))
        out = []
        for m in self.record.medications:
            hit = self.tags(m, by_name=True) & wanted
            if hit and m.start is not None and m.start <= self.as_of and is_systemic(m.codes, m.text):
                out.append((m, frozenset(hit)))
        return out

    def unreadable(self, valuesets: set[str], window: Window | None = None) -> list[DataIssue]:
        """Malformed records whose codes match (and whose date, if known, is in the window)."""
        out = []
        for issue in self.record.issues:
            if issue.kind not in ("malformed", "ignored") or not issue.codes:
                continue
            if not (self.matcher.valuesets(issue.codes, by_name=True) & valuesets):
                continue
            if window is not None and issue.date is not None:
                start, end = self.window_bounds(window)
                if issue.date > end or (start is not None and issue.date < start):
                    continue
            out.append(issue)
        return out

    def codeless(self, resource_types: tuple[str, ...]) -> list[DataIssue]:
        """Malformed records of these FHIR types with no readable code, that were not read
        otherwise: they may be anything of their kind (found once per patient)."""
        if self._codeless is None:
            rec = self.record
            read = {e.ref for entries in (rec.conditions, rec.procedures, rec.medications, rec.immunizations,
                                          rec.allergies, rec.consents, rec.studies) for e in entries}
            self._codeless = [i for i in rec.issues if i.kind == "malformed" and not i.codes and i.ref not in read]
        return [i for i in self._codeless if i.ref.split("/")[0] in resource_types]

    def nearest(self, measure_id: str, day: date, within_days: int) -> Observation | None:
        """The observation of a measure dated nearest ``day``, within ``within_days``."""
        best = None
        for o in self.observations(measure_id):
            gap = abs((o.date - day).days)  # type: ignore[operator]
            if gap <= within_days and (best is None or gap < abs((best.date - day).days)):  # type: ignore[operator]
                best = o
        return best


def day_range(start: date, end: date):
    """Every day from ``start`` to ``end`` inclusive (safe up to date.max)."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)
