"""ASTCT consensus grade of immune effector cell-associated neurotoxicity (ICANS).

    grade = the highest grade among the rows met: ICE or CAPD (``SCORES``),
            consciousness, seizure, motor weakness, raised ICP / cerebral
            edema (``DOMAINS``), worded as in Lee 2019

The encephalopathy score depends on age in completed years (criteria.md): the
10-point ICE for ages over 12, the CAPD (Cornell Assessment of Pediatric
Delirium, 8 items scored 0-4, total 0-32, >= 9 = delirium) for ages 12 and
under, i.e. before the 13th birthday. Passing the other score is an error.
CAPD 1-8 sets grade 1 on its own; the G2 cell repeats 1-8 because grade 2
comes from the consciousness row (awakens to voice). ICE 0 in an awake patient
(e.g. global aphasia) is grade 3; grade 4 needs an unarousable patient, who
cannot do ICE or CAPD, so the score may be omitted only when
``consciousness="unarousable"``. ``alert`` means consciousness not depressed;
``cerebral-edema=diffuse`` stands for any grade-4 raised-ICP finding.

Every domain counts only when not attributable to another cause (e.g.
sedation); tremor, myoclonus and intracranial haemorrhage are graded by CTCAE,
not ICANS; grade 5 (death) is out of scope.

Source: Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for
cytokine release syndrome and neurologic toxicity associated with immune
effector cells. Biol Blood Marrow Transplant 2019;25:625-638, ICANS grading
tables for adults and for children (clinical.md 8.2); CAPD: Traube C et al.
Crit Care Med 2014;42:656-663.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from trialdesk.calculators.base import CalcResult, fmt, plain, require_between
from trialdesk.calculators.crs_astct import Row, choose, most_severe
from trialdesk.errors import CalculatorError

NAME = "icans-astct"
UNIT = "grade"
SOURCE = (
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. "
    "Biol Blood Marrow Transplant 2019;25:625-638, ICANS tables (adult ICE; paediatric CAPD, "
    "Traube C et al. Crit Care Med 2014;42:656-663)"
)
CAPD_MAX_AGE = 12  # completed years; older patients are scored with ICE
MAX_AGE = 120  # plausibility limit, not part of the grading


class Score(NamedTuple):
    """An encephalopathy score: its range and the grade of each band of it."""

    top: int
    bands: tuple[tuple[int, int, Row], ...]  # (low, high, row), inclusive
    unable: Row


SCORES: dict[str, Score] = {
    "ice": Score(10, (
        (10, 10, Row(0, "ICE 10, no encephalopathy")),
        (7, 9, Row(1, "ICE 7-9")),
        (3, 6, Row(2, "ICE 3-6")),
        (0, 2, Row(3, "ICE 0-2 in an awake patient")),
    ), Row(4, "ICE 0: unarousable and unable to undergo ICE")),
    "capd": Score(32, (
        (0, 0, Row(0, "CAPD 0")),
        (1, 8, Row(1, "CAPD 1-8")),
        (9, 32, Row(3, "CAPD >= 9")),
    ), Row(4, "unable to perform CAPD: unarousable")),
}

DOMAINS: dict[str, dict[str, Row]] = {
    "consciousness": {
        "alert": Row(0, "consciousness not depressed"),
        "spontaneous": Row(1, "awakens spontaneously"),
        "voice": Row(2, "awakens to voice"),
        "tactile": Row(3, "awakens only to tactile stimulus"),
        "unarousable": Row(4, "unarousable or needs vigorous or repetitive tactile stimuli; "
                              "stupor or coma"),
    },
    "seizure": {
        "none": Row(0, "no seizure"),
        "rapid": Row(3, "any clinical seizure that resolves rapidly, or non-convulsive "
                        "seizures on EEG that resolve with intervention"),
        "prolonged": Row(4, "life-threatening prolonged seizure (> 5 min), or repetitive "
                            "seizures without return to baseline in between"),
    },
    "motor-weakness": {
        "no": Row(0, "no deep focal motor weakness"),
        "yes": Row(4, "deep focal motor weakness such as hemiparesis or paraparesis"),
    },
    "cerebral-edema": {
        "none": Row(0, "no raised ICP / cerebral edema"),
        "focal": Row(3, "focal/local edema on neuroimaging"),
        "diffuse": Row(4, "diffuse cerebral edema on neuroimaging, decerebrate or decorticate "
                          "posturing, cranial nerve VI palsy, papilledema or Cushing's triad"),
    },
}


def icans_astct(
    age: float,
    consciousness: str,
    seizure: str,
    motor_weakness: str,
    cerebral_edema: str,
    ice: float | str | None = None,
    capd: float | str | None = None,
) -> CalcResult:
    """ASTCT ICANS grade (0-4); ``age`` in years picks ICE (> 12) or CAPD (<= 12).

    The four clinical domains take the codes of ``DOMAINS``. Raises
    CalculatorError naming the input: the score of the other age group, a
    missing score (unless unarousable), a score that is not a whole number in
    its range, or an unknown code.
    """
    years = require_between(age, "age", "years", 0, MAX_AGE)
    key, other = ("capd", "ice") if math.floor(years) <= CAPD_MAX_AGE else ("ice", "capd")
    scores = {"ice": ice, "capd": capd}
    if scores[other] is not None:
        raise CalculatorError(
            f"{other} is not used at age {fmt(years)}: ASTCT grades ages over 12 with ICE and "
            f"ages 12 and under (completed years) with CAPD; give {key}", other
        )
    given = {"consciousness": consciousness, "seizure": seizure,
             "motor-weakness": motor_weakness, "cerebral-edema": cerebral_edema}
    clinical = {
        domain: (str(code).strip().lower(), choose(DOMAINS[domain], code, domain))
        for domain, code in given.items()
    }
    score, given_points = SCORES[key], scores[key]
    points: int | str
    if given_points is not None:
        points = _points(given_points, key, score.top)
        row = next(row for low, high, row in score.bands if low <= points <= high)
    elif clinical["consciousness"][0] == "unarousable":
        points, row = "unable", score.unable
    else:
        raise CalculatorError(
            f"{key} (0-{score.top}) is needed at age {fmt(years)}; it may be left out only "
            "when consciousness=unarousable", key
        )
    grade, equation = most_severe({key: (str(points), row), **clinical})
    return CalcResult(
        name=NAME,
        value=grade,
        unit=UNIT,
        inputs={"age": plain(years), key: points,
                **{domain: code for domain, (code, _) in clinical.items()}},
        equation=equation,
        source=SOURCE,
    )


def _points(value: float | str, key: str, top: int) -> int:
    """``value`` as a whole number of points from 0 to ``top``, else CalculatorError."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (number.is_integer() and 0 <= number <= top):
        raise CalculatorError(f"{key} must be a whole number from 0 to {top}; got {value!r}", key)
    return int(number)
