"""ASTCT consensus grade of cytokine release syndrome (CRS).

    grade = the highest grade among the rows met: fever (G1), hypotension (G2-G4),
            hypoxia (G2-G4); the rows are ``DOMAINS``, worded as in Lee 2019

Fever alone is grade 1; fever with one vasopressor and low-flow oxygen is grade
3 (the more severe of hypotension and hypoxia). No fever, hypotension or
hypoxia is grade 0 (no CRS).

``fever="no"`` with hypotension or hypoxia: once a patient with CRS has had
antipyretic or anti-cytokine therapy (tocilizumab, steroids), fever is no
longer required and the grade is driven by hypotension and/or hypoxia (Lee
2019, "Fever"; clinical.md 8.1), so this calculator grades them. It cannot see
that premise: hypotension or hypoxia without a preceding CRS fever is not CRS,
and the investigator must not record it as such.

Out of scope: grade 5 (death from CRS) and organ toxicities, which are graded
by CTCAE v5 and do not change the CRS grade.

Source: Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for
cytokine release syndrome and neurologic toxicity associated with immune
effector cells. Biol Blood Marrow Transplant 2019;25:625-638, CRS grading table
(clinical.md 8.1).
"""

from __future__ import annotations

from typing import NamedTuple

from trialdesk.calculators.base import CalcResult
from trialdesk.errors import CalculatorError

NAME = "crs-astct"
UNIT = "grade"
SOURCE = (
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. "
    "Biol Blood Marrow Transplant 2019;25:625-638, CRS grading table"
)


class Row(NamedTuple):
    """One cell of an ASTCT grading table: the grade it sets and its wording."""

    grade: int
    text: str


DOMAINS: dict[str, dict[str, Row]] = {
    "fever": {
        "no": Row(0, "no fever"),
        "yes": Row(1, "fever >= 38.0 C not attributable to any other cause"),
    },
    "hypotension": {
        "none": Row(0, "no hypotension"),
        "no-vasopressor": Row(2, "hypotension not requiring vasopressors"),
        "one-vasopressor": Row(
            3, "hypotension requiring a vasopressor with or without vasopressin"
        ),
        "multiple-vasopressors": Row(
            4, "hypotension requiring multiple vasopressors (excluding vasopressin)"
        ),
    },
    "hypoxia": {
        "none": Row(0, "no hypoxia"),
        "low-flow": Row(2, "low-flow nasal cannula (<= 6 L/min) or blow-by oxygen"),
        "high-flow": Row(
            3, "high-flow nasal cannula (> 6 L/min), facemask, non-rebreather or Venturi mask"
        ),
        "positive-pressure": Row(
            4, "positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)"
        ),
    },
}

FEVER_NOT_REQUIRED = (
    "fever is not required after antipyretic or anti-cytokine therapy (Lee 2019), so "
    "hypotension/hypoxia decide; without a preceding CRS fever this is not CRS"
)


def choose(table: dict[str, Row], code: str, key: str) -> Row:
    """The row of ``table`` for ``code``; CalculatorError naming ``key`` otherwise."""
    text = str(code).strip().lower()
    if text not in table:
        raise CalculatorError(f"{key} must be one of {', '.join(table)}; got {code!r}", key)
    return table[text]


def most_severe(chosen: dict[str, tuple[str, Row]]) -> tuple[int, str]:
    """The highest grade among the chosen rows, and a sentence naming the row(s) that set it.

    ``chosen`` maps each domain to ``(code, row)``. Shared with ``icans_astct``:
    in both ASTCT scales the most severe domain decides the grade.
    """
    grade = max(row.grade for _, row in chosen.values())
    if grade == 0:
        rows = "; ".join(f"{domain} {code}" for domain, (code, _) in chosen.items())
        return 0, f"grade 0: no row above grade 0 is met ({rows})"
    deciding = " and ".join(
        f"{domain} {code} ({row.text})"
        for domain, (code, row) in chosen.items()
        if row.grade == grade
    )
    return grade, f"grade {grade} set by the G{grade} row: {deciding}"


def crs_astct(fever: str, hypotension: str, hypoxia: str) -> CalcResult:
    """ASTCT CRS grade (0-4) from the three domains, each a code of ``DOMAINS``.

    Raises CalculatorError naming the domain whose code is not in its table.
    """
    given = {"fever": fever, "hypotension": hypotension, "hypoxia": hypoxia}
    chosen = {
        domain: (str(code).strip().lower(), choose(DOMAINS[domain], code, domain))
        for domain, code in given.items()
    }
    grade, equation = most_severe(chosen)
    if grade > 0 and chosen["fever"][0] == "no":
        equation = f"{equation}; {FEVER_NOT_REQUIRED}"
    return CalcResult(
        name=NAME,
        value=grade,
        unit=UNIT,
        inputs={domain: code for domain, (code, _) in chosen.items()},
        equation=equation,
        source=SOURCE,
    )
