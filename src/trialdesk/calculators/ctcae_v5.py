"""NCI CTCAE v5.0 grade of a laboratory adverse event.

    grade = the highest grade whose rule the value meets (0 if none)
    rule  = value (op) bound x basis, basis = ULN, LLN, baseline, or 1 (absolute)

The rules (``TERMS``) follow the CTCAE v5.0 text as machine-coded by
pharmaverse/admiral ``data-raw/adlb_grading/ncictcaev5.json`` (clinical.md 8.3):

* ALT, AST, bilirubin: with a normal or missing baseline (baseline <= ULN) the
  value is graded in multiples of the ULN; with an abnormal baseline
  (> ULN) in multiples of the baseline instead ("if baseline was abnormal"),
  so a value above the ULN but below 1.5 x baseline (ALT/AST) or not above the
  baseline (bilirubin) is grade 0. Grade 1 against an abnormal baseline
  includes its lower bound for ALT/AST (1.5 - 3.0 x baseline) but not for
  bilirubin (> 1.0 - 1.5 x baseline).
* Creatinine: the "x baseline" rules (G2 > 1.5, G3 > 3.0) apply whenever a
  baseline is given, abnormal or not, alongside the ULN rules; so a rise to
  more than 1.5 x baseline is grade 2 even below the ULN.
* Counts and anemia: grade 1 is "< LLN"; grades 2-4 are absolute (counts in
  10^9/L, haemoglobin in g/L) and apply whatever the LLN, so a neutrophil count
  of 1.4 x 10^9/L is grade 2 even where the LLN is 1.2. They have no baseline
  rule; a baseline is refused. Anemia grade 4 ("life-threatening consequences;
  urgent intervention indicated") is clinical, so the laboratory grade stops
  at 3.

Every bound is as printed: "> 3.0 x ULN" excludes exactly 3.0 x ULN, "< 1.5"
excludes exactly 1.5. Ratios are rounded to 9 decimals before comparing, so
that a unit conversion (bilirubin mg/dL x 17.1) cannot move a value across a
bound (admiral likewise compares rounded values).

Count units (``COUNT_UNITS``): ``10*9/L`` (UCUM) and its spellings ``10^9/L``,
``x10^9/L``, ``G/L`` (capital G: giga; ``g/L`` is grams), ``/nL``, ``10^3/uL``;
also ``/uL`` or ``/mm3`` (``800/uL`` = 0.8) and ``/L`` (``0.8e9/L`` = 0.8).

Source: National Cancer Institute. Common Terminology Criteria for Adverse
Events (CTCAE) v5.0, 27 November 2017; rules as coded in pharmaverse/admiral
data-raw/adlb_grading/ncictcaev5.json.
"""

from __future__ import annotations

import math
import re
from operator import attrgetter
from typing import NamedTuple

from trialdesk.calculators.base import CalcResult, fmt, require_finite, require_positive
from trialdesk.calculators.units import split_quantity
from trialdesk.errors import CalculatorError, UnitError

NAME = "ctcae-v5"
UNIT = "grade"
SOURCE = (
    "National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) v5.0, "
    "27 Nov 2017; rules as coded in pharmaverse/admiral data-raw/adlb_grading/ncictcaev5.json"
)
COUNT_UNIT = "10*9/L"
#: count unit spelling -> factor to 10*9/L
COUNT_UNITS: dict[str, float] = {
    COUNT_UNIT: 1.0, "10^9/L": 1.0, "x10^9/L": 1.0, "x10*9/L": 1.0, "G/L": 1.0, "/nL": 1.0,
    "10^3/uL": 1.0, "10*3/uL": 1.0, "/uL": 1e-3, "/mm3": 1e-3, "/L": 1e-9,
}
_COUNT_ALIASES = {unit.lower(): unit for unit in COUNT_UNITS if unit != "G/L"}
DIGITS = 9
GRADE = attrgetter("grade")


class Rule(NamedTuple):
    """``value (op) bound x basis`` sets ``grade``; basis "" = absolute, in the term's unit."""

    grade: int
    op: str  # ">", ">=" or "<"
    bound: float
    basis: str = ""  # "ULN", "LLN", "baseline" or ""

    def text(self, unit: str) -> str:
        """E.g. ``"> 3 x ULN"``, or ``"< 1.5 10*9/L"`` for an absolute bound."""
        return f"{self.op} {fmt(self.bound)} " + (f"x {self.basis}" if self.basis else unit)


class Term(NamedTuple):
    """A CTCAE v5 laboratory term: its unit, reference limit, baseline use and rules."""

    name: str  # CTCAE v5 term
    unit: str  # unit the value, limit and baseline are compared in
    limit: str  # "uln" or "lln"
    baseline: str  # "if-abnormal", "always" or "" (no baseline rule)
    rules: tuple[Rule, ...]
    analyte: str | None = None  # for molar <-> mass conversion


def _increase(*bounds: float, basis: str, first: str = ">") -> tuple[Rule, ...]:
    return tuple(Rule(g, first if g == 1 else ">", b, basis) for g, b in enumerate(bounds, 1))


def _decrease(*bounds: float) -> tuple[Rule, ...]:
    return (Rule(1, "<", 1.0, "LLN"), *(Rule(g, "<", b) for g, b in enumerate(bounds, 2)))


_TRANSAMINASE = (*_increase(1.0, 3.0, 5.0, 20.0, basis="ULN"),
                 *_increase(1.5, 3.0, 5.0, 20.0, basis="baseline", first=">="))
TERMS: dict[str, Term] = {
    "alt": Term("Alanine aminotransferase increased", "U/L", "uln", "if-abnormal", _TRANSAMINASE),
    "ast": Term("Aspartate aminotransferase increased", "U/L", "uln", "if-abnormal",
                _TRANSAMINASE),
    "bilirubin": Term("Blood bilirubin increased", "umol/L", "uln", "if-abnormal",
                      (*_increase(1.0, 1.5, 3.0, 10.0, basis="ULN"),
                       *_increase(1.0, 1.5, 3.0, 10.0, basis="baseline")), "bilirubin"),
    "creatinine": Term("Creatinine increased", "umol/L", "uln", "always",
                       (*_increase(1.0, 1.5, 3.0, 6.0, basis="ULN"),
                        Rule(2, ">", 1.5, "baseline"), Rule(3, ">", 3.0, "baseline")),
                       "creatinine"),
    "neutrophils": Term("Neutrophil count decreased", COUNT_UNIT, "lln", "",
                        _decrease(1.5, 1.0, 0.5)),
    "platelets": Term("Platelet count decreased", COUNT_UNIT, "lln", "", _decrease(75, 50, 25)),
    "wbc": Term("White blood cell decreased", COUNT_UNIT, "lln", "", _decrease(3.0, 2.0, 1.0)),
    "lymphocytes": Term("Lymphocyte count decreased", COUNT_UNIT, "lln", "",
                        _decrease(0.8, 0.5, 0.2)),
    "anemia": Term("Anemia", "g/L", "lln", "", _decrease(100, 80)),
}


def term(code: str) -> Term:
    """The term for ``code`` (a key of ``TERMS``); CalculatorError naming ``term`` otherwise."""
    key = str(code).strip().lower()
    if key not in TERMS:
        raise CalculatorError(f"term must be one of {', '.join(TERMS)}; got {code!r}", "term")
    return TERMS[key]


def read_count(text: str) -> tuple[float, str]:
    """``(count in 10*9/L, as typed)`` from e.g. ``"0.8x10^9/L"``, ``"800/uL"``, ``"0.8e9/L"``.

    Raises CalculatorError if no number leads the text, UnitError for a missing
    or unknown count unit.
    """
    number, spelled = split_quantity(text)
    compact = re.sub(r"\s+", "", spelled).replace("µ", "u").replace("μ", "u").replace("×", "x")
    unit = compact if compact == "G/L" else _COUNT_ALIASES.get(compact.lower())
    if unit is None:
        raise UnitError(f"unknown count unit {spelled!r}; use one of {', '.join(COUNT_UNITS)}")
    return number * COUNT_UNITS[unit], f"{fmt(number)} {unit}"


def ctcae_v5(code: str, value: float, limit: float, baseline: float | None = None) -> CalcResult:
    """CTCAE v5 grade of ``value`` for the term ``code``, all numbers in the term's unit.

    ``limit`` is the ULN or the LLN, as the term says (``TERMS[code].limit``);
    ``baseline`` the pre-treatment value, for the terms with a baseline rule.
    Raises CalculatorError naming the input: an unknown term, a negative
    value, a limit or baseline not > 0, or a baseline for a term without one.
    """
    t = term(code)
    number = require_finite(value, "value", t.unit)
    if number < 0:
        raise CalculatorError(f"value must be >= 0, got {fmt(number)} {t.unit}", "value")
    reference = {t.limit.upper(): require_positive(limit, t.limit, t.unit), "": 1.0}
    inputs: dict[str, object] = {
        "term": str(code).strip().lower(),
        "value": f"{fmt(number)} {t.unit}",
        t.limit: f"{fmt(limit)} {t.unit}",
    }
    note = ""
    if baseline is not None:
        if not t.baseline:
            raise CalculatorError(f"CTCAE v5 grades {t.name} without a baseline", "baseline")
        reference["baseline"] = require_positive(baseline, "baseline", t.unit)
        inputs["baseline"] = f"{fmt(baseline)} {t.unit}"
        if t.baseline == "if-abnormal":
            abnormal = reference["baseline"] > reference["ULN"]
            note = f"; baseline {fmt(baseline)} {t.unit} " + (
                "> ULN (abnormal): graded x baseline" if abnormal
                else "<= ULN (normal): graded x ULN")
            del reference["ULN" if abnormal else "baseline"]
    ratios = {key: _ratio(number, ref, key, t) for key, ref in reference.items()}
    met = [r for r in t.rules if r.basis in ratios and _meets(ratios[r.basis], r)]
    shown = f"{t.name}: {fmt(number)} {t.unit}"
    if met:
        rule = max(met, key=GRADE)
        times = f" = {fmt(ratios[rule.basis])} x {rule.basis}" if rule.basis else ""
        equation = f"{shown}{times} meets the G{rule.grade} rule '{rule.text(t.unit)}'{note}"
    else:
        first = min((r for r in t.rules if r.basis in ratios), key=GRADE).text(t.unit)
        equation = f"{shown} meets no rule (G1 is '{first}'): grade 0{note}"
    return CalcResult(
        name=NAME,
        value=max((r.grade for r in met), default=0),
        unit=UNIT,
        inputs=inputs,
        equation=equation,
        source=SOURCE,
        extra={"ctcae_term": t.name},
    )


def _ratio(number: float, reference: float, basis: str, t: Term) -> float:
    """``number / reference`` rounded to ``DIGITS`` decimals; CalculatorError if not finite."""
    ratio = number / reference
    if not math.isfinite(ratio):
        key = "baseline" if basis == "baseline" else t.limit
        raise CalculatorError(f"value / {key} is not finite; check {key}", key)
    return round(ratio, DIGITS)


def _meets(ratio: float, rule: Rule) -> bool:
    return {">": ratio > rule.bound, ">=": ratio >= rule.bound, "<": ratio < rule.bound}[rule.op]
