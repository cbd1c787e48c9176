"""The follow-up record of one enrolled subject, after reading and unit conversion.

Everything is dated (``datetime.date``); days relative to the infusion are
computed, never stored. Lab values are held in each test's canonical unit
(``LAB_TESTS``), converted by :mod:`trialdesk.calculators.units` (concentrations,
ratios) or :func:`trialdesk.calculators.ctcae_v5.read_count` (cell counts), with
the value as recorded kept beside it. A field left out is ``None``: missing,
never zero or normal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from trialdesk.calculators.base import CalcResult
from trialdesk.engine.dates import completed_years


class LabTest(NamedTuple):
    """A follow-up lab test: label, canonical unit, LOINC code (codes.md 1), SDTM test code."""

    label: str
    unit: str
    loinc: str
    sdtm: str
    kind: str  # "concentration" (units.convert), "count" (x 10^9/L), "per-ul" (cells/uL), "fixed"
    analyte: str | None = None


#: test key -> LabTest. LOINC codes from codes.md section 1 (CD19 rated "likely" there).
LAB_TESTS: dict[str, LabTest] = {
    "hemoglobin": LabTest("Hemoglobin", "g/L", "718-7", "HGB", "concentration"),
    "wbc": LabTest("Leukocytes", "10*9/L", "6690-2", "WBC", "count"),
    "neutrophils": LabTest("Neutrophils", "10*9/L", "751-8", "NEUT", "count"),
    "lymphocytes": LabTest("Lymphocytes", "10*9/L", "731-0", "LYM", "count"),
    "platelets": LabTest("Platelets", "10*9/L", "777-3", "PLAT", "count"),
    "cd19": LabTest("CD19+ B cells", "/uL", "8116-6", "CD19", "per-ul"),
    "igg": LabTest("Immunoglobulin G", "g/L", "2465-3", "IGG", "concentration"),
    "c3": LabTest("Complement C3", "g/L", "4485-9", "C3", "concentration"),
    "c4": LabTest("Complement C4", "g/L", "4498-2", "C4", "concentration"),
    "anti-dsdna": LabTest("Anti-dsDNA antibodies", "[IU]/mL", "5130-0", "DSDNAAB", "fixed"),
    "upcr": LabTest("Protein/Creatinine (urine)", "g/g", "2890-2", "PROTCRT", "concentration", "upcr"),
    "albumin": LabTest("Albumin", "g/L", "1751-7", "ALB", "concentration"),
    "creatinine": LabTest("Creatinine", "umol/L", "14682-9", "CREAT", "concentration", "creatinine"),
    "ast": LabTest("Aspartate aminotransferase", "U/L", "1920-8", "AST", "concentration"),
    "alt": LabTest("Alanine aminotransferase", "U/L", "1742-6", "ALT", "concentration"),
    "bilirubin": LabTest("Bilirubin (total)", "umol/L", "1975-2", "BILI", "concentration", "bilirubin"),
}

#: BILAG-2004 organ domains (Isenberg DA et al. Rheumatology 2005;44:902-906).
BILAG_DOMAINS = ("constitutional", "mucocutaneous", "neuropsychiatric", "musculoskeletal",
                 "cardiorespiratory", "gastrointestinal", "ophthalmic", "renal", "haematological")
BILAG_GRADES = ("A", "B", "C", "D", "E")
MEDICATION_KINDS = ("glucocorticoid", "immunosuppressant", "biologic", "antimalarial")
DOSE_KINDS = ("lymphodepletion", "car-nk")
class VitalSign(NamedTuple):
    """A vital sign: SDTM VSTESTCD and VSTEST, unit, plausible range (weight, height, SpO2 as protocol.yaml)."""

    sdtm: str
    label: str
    unit: str
    low: float
    high: float


VITALS: dict[str, VitalSign] = {
    "temperature": VitalSign("TEMP", "Temperature", "C", 25, 45),
    "systolic": VitalSign("SYSBP", "Systolic Blood Pressure", "mmHg", 30, 300),
    "diastolic": VitalSign("DIABP", "Diastolic Blood Pressure", "mmHg", 10, 200),
    "heart_rate": VitalSign("PULSE", "Pulse Rate", "beats/min", 10, 300),
    "respiratory_rate": VitalSign("RESP", "Respiratory Rate", "breaths/min", 2, 120),
    "spo2": VitalSign("OXYSAT", "Oxygen Saturation", "%", 30, 100),
    "weight": VitalSign("WEIGHT", "Weight", "kg", 1, 400),
    "height": VitalSign("HEIGHT", "Height", "cm", 30, 250),
}


@dataclass(frozen=True, slots=True)
class Dose:
    """One administration: lymphodepletion (fludarabine, cyclophosphamide) or the CAR-NK cells."""

    kind: str  # DOSE_KINDS
    agent: str
    dose: float
    unit: str
    day: date
    lot: str | None = None


@dataclass(frozen=True, slots=True)
class Vitals:
    """Vital signs of one day; any field may be missing."""

    day: date
    values: dict[str, float]  # keys of VITALS


@dataclass(frozen=True, slots=True)
class Lab:
    """One result in its test's canonical unit; ``low``/``high`` the lab's reference range."""

    test: str  # key of LAB_TESTS
    day: date
    value: float
    given: str  # value and unit as recorded
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class DiseaseAssessment:
    """An SLE assessment: SLEDAI-2K descriptors present, PGA (0-3), BILAG-2004 grades.

    ``sledai`` None means not scored (an empty tuple means scored 0).
    ``hemolytic_anemia`` and ``gi_activity`` are the LLDAS items outside SLEDAI-2K.
    """

    day: date
    sledai: tuple[str, ...] | None = None
    pga: float | None = None
    bilag: dict[str, str] | None = None
    hemolytic_anemia: bool | None = None
    gi_activity: bool | None = None


@dataclass(frozen=True, slots=True)
class Medication:
    """A glucocorticoid, immunosuppressant, biologic or antimalarial over a period (``end`` None: ongoing)."""

    drug: str
    kind: str  # MEDICATION_KINDS
    daily_dose_mg: float | None
    start: date
    end: date | None = None

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """An adverse event as the investigator recorded it (CTCAE v5 term and grade)."""

    term: str
    grade: int
    onset: date
    resolved: date | None
    serious: bool
    related: bool
    infection: bool = False


@dataclass(frozen=True, slots=True)
class Graded:
    """A CRS or ICANS assessment with its ASTCT grade from the calculators."""

    kind: str  # "crs" or "icans"
    day: date
    result: CalcResult

    @property
    def grade(self) -> int:
        return int(self.result.value)


@dataclass(frozen=True)
class Subject:
    """One enrolled subject's follow-up record.

    ``visits`` maps each scheduled visit done to its date; ``unscheduled`` are
    the dates of extra visits. ``medications_complete_through`` is the last
    date up to which the medication list is known to be complete: a steroid
    dose after it is not known.
    """

    id: str
    cohort: str
    sex: str
    birth_date: date
    infusion: date
    visits: dict[str, date]
    unscheduled: tuple[date, ...] = ()
    doses: tuple[Dose, ...] = ()
    vitals: tuple[Vitals, ...] = ()
    labs: tuple[Lab, ...] = ()
    assessments: tuple[DiseaseAssessment, ...] = ()
    medications: tuple[Medication, ...] = ()
    medications_complete_through: date | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()
    graded: tuple[Graded, ...] = ()
    last_contact: date | None = None

    def age_on(self, day: date) -> int:
        return completed_years(self.birth_date, day)

    def study_day(self, day: date) -> int:
        """Days from the infusion (day 0)."""
        return (day - self.infusion).days

    def lab(self, test: str, day: date) -> Lab | None:
        """The result of ``test`` dated ``day`` (the last recorded if several)."""
        found = [x for x in self.labs if x.test == test and x.day == day]
        return found[-1] if found else None

    def latest_lab(self, test: str, on_or_before: date) -> Lab | None:
        found = [x for x in self.labs if x.test == test and x.day <= on_or_before]
        return max(found, key=lambda x: x.day) if found else None

    def assessment(self, day: date) -> DiseaseAssessment | None:
        found = [a for a in self.assessments if a.day == day]
        return found[-1] if found else None

    def nearest_vital(self, name: str, day: date, within_days: int) -> tuple[float, date] | None:
        """The ``name`` vital nearest ``day`` within ``within_days`` (earlier wins a tie)."""
        found = [(abs((v.day - day).days), v.day, v.values[name]) for v in self.vitals
                 if name in v.values and abs((v.day - day).days) <= within_days]
        if not found:
            return None
        _, when, value = min(found)
        return value, when

    def visit_dates(self) -> list[tuple[str, date]]:
        """Every visit (scheduled id or ``unscheduled``) with its date, in date order."""
        dated = list(self.visits.items()) + [("unscheduled", d) for d in self.unscheduled]
        return sorted(dated, key=lambda item: item[1])


@dataclass(frozen=True)
class FollowUp:
    """A follow-up file: the protocol it follows, its subjects, and data that could not be used."""

    protocol: str
    subjects: tuple[Subject, ...] = field(default_factory=tuple)
    issues: tuple[str, ...] = ()
