"""Remission status of childhood nephrotic syndrome (IPNA), from UPCR and albumin.

    code  status              rule (UPCR in g/g, first-morning or spot urine)
    0     complete remission  UPCR <= 0.2
    1     partial remission   0.2 < UPCR < 2 and serum albumin >= 30 g/L
    2     no remission        neither of the above
    3     relapse             UPCR >= 2 on 3 consecutive days, the previous status
                              being complete remission

Units: the thresholds are compared in g/g (= mg/mg), after converting mg/mmol
with 1 mg/mmol = 8.84 mg/g, as the protocol does for SRNS-MULTIDRUG (CL-8).
IPNA writes each threshold twice, "20 mg/mmol (0.2 mg/mg)" and "200 mg/mmol
(2 mg/mg)", and the pairs are rounded: 0.2 g/g is 22.6 mg/mmol and 2 g/g is
226 mg/mmol (clinical.md 6.1, unit trap). Comparing in one unit keeps the
status the same whichever unit the laboratory reports, and the same as the
eligibility check; the price is that 21 mg/mmol counts as complete remission
(0.186 g/g) though it is above IPNA's 20 mg/mmol, and 200-225 mg/mmol is below
the relapse threshold.

Relapse needs ``upcr`` as the spot values of 3 consecutive days, oldest first
(at most 3 values); the status is otherwise that of the last value, and a
value >= 2 g/g after complete remission on fewer than 3 days is "no remission"
until the relapse is confirmed. ``previous`` is the status of the preceding
assessment (a status name with hyphens, e.g. ``complete-remission``); only
complete remission makes a relapse possible, so a persisting relapse is
graded again as no remission (a relapse is an event, not a state). The IPNA
dipstick alternatives (negative/trace or >= 3+ on 3 consecutive days) and
24-hour protein (mg/m2/day) are not graded here.

Sources: Trautmann A et al. IPNA clinical practice recommendations for the
diagnosis and management of children with steroid-sensitive nephrotic
syndrome. Pediatr Nephrol 2023;38:877-919, Table 1; Trautmann A et al. IPNA
recommendations for steroid-resistant nephrotic syndrome. Pediatr Nephrol
2020;35:1529-1561 (clinical.md 6.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from trialdesk.calculators.base import CalcResult, fmt, require_between, require_finite
from trialdesk.errors import CalculatorError

NAME = "ipna-response"
UNIT = "{status}"
SOURCE = (
    "Trautmann A et al. Pediatr Nephrol 2023;38:877-919 (IPNA SSNS 2022), Table 1; "
    "Trautmann A et al. Pediatr Nephrol 2020;35:1529-1561 (IPNA SRNS 2020); "
    "UPCR compared in g/g, 1 mg/mmol = 8.84 mg/g (protocol CL-8)"
)
COMPLETE_MAX_G_G = 0.2  # IPNA: <= 20 mg/mmol (0.2 mg/mg)
NEPHROTIC_G_G = 2.0  # IPNA: >= 200 mg/mmol (2 mg/mg)
ALBUMIN_MIN_G_L = 30.0  # IPNA partial remission: serum albumin >= 30 g/L
RELAPSE_DAYS = 3
MAX_PLAUSIBLE_UPCR_G_G = 50.0  # plausibility limits, not IPNA: catch a unit mix-up
ALBUMIN_PLAUSIBLE_G_L = (5.0, 80.0)


class Status(NamedTuple):
    """One IPNA status: its code (the CalcResult value), name and rule."""

    code: int
    name: str
    rule: str


STATUSES: tuple[Status, ...] = (
    Status(0, "complete remission", f"UPCR <= {COMPLETE_MAX_G_G:g} g/g"),
    Status(1, "partial remission", f"{COMPLETE_MAX_G_G:g} < UPCR < {NEPHROTIC_G_G:g} g/g and "
                                   f"albumin >= {ALBUMIN_MIN_G_L:g} g/L"),
    Status(2, "no remission", "neither complete nor partial remission"),
    Status(3, "relapse", f"UPCR >= {NEPHROTIC_G_G:g} g/g on {RELAPSE_DAYS} consecutive days "
                         "after complete remission"),
)
CR, PR, NR, RELAPSE = STATUSES
BY_SLUG: dict[str, Status] = {s.name.replace(" ", "-"): s for s in STATUSES}


def ipna_response(
    upcr_g_g: float | Sequence[float], albumin_g_l: float, previous: str | None = None
) -> CalcResult:
    """IPNA status code (0-3) from UPCR (g/g; one value or 3 consecutive days) and albumin (g/L).

    Raises CalculatorError naming the input: an implausible UPCR or albumin,
    more than 3 UPCR values, or an unknown ``previous`` status.
    """
    series = [upcr_g_g] if isinstance(upcr_g_g, int | float) else list(upcr_g_g)
    if not 1 <= len(series) <= RELAPSE_DAYS:
        raise CalculatorError(
            f"upcr takes 1 to {RELAPSE_DAYS} values (consecutive days, oldest first); "
            f"got {len(series)}", "upcr"
        )
    days = [_upcr(value) for value in series]
    albumin = require_between(albumin_g_l, "albumin", "g/L", *ALBUMIN_PLAUSIBLE_G_L)
    before = None if previous is None else _previous(previous)
    latest = days[-1]
    run = 0  # consecutive days >= NEPHROTIC_G_G, ending with the latest
    for day in days:
        run = run + 1 if day >= NEPHROTIC_G_G else 0
    if before is CR and run == RELAPSE_DAYS:
        status = RELAPSE
    elif latest <= COMPLETE_MAX_G_G:
        status = CR
    elif latest < NEPHROTIC_G_G and albumin >= ALBUMIN_MIN_G_L:
        status = PR
    else:
        status = NR
    equation = (
        f"UPCR {fmt(latest)} g/g, albumin {fmt(albumin)} g/L"
        f"{'' if before is None else f', previous {before.name}'}: {status.name} "
        f"({status.rule})"
    )
    if before is CR and status is NR and latest >= NEPHROTIC_G_G:
        equation += (
            f"; not yet a relapse: UPCR >= {NEPHROTIC_G_G:g} g/g on the last {run} of the "
            f"{RELAPSE_DAYS} consecutive days needed"
        )
    inputs: dict[str, object] = {
        "upcr": [f"{fmt(day)} g/g" for day in days],
        "albumin": f"{fmt(albumin)} g/L",
    }
    if before is not None:
        inputs["previous"] = before.name
    return CalcResult(
        name=NAME,
        value=status.code,
        unit=UNIT,
        inputs=inputs,
        equation=equation,
        source=SOURCE,
        extra={"status": status.name},
    )


def _upcr(value: float) -> float:
    number = require_finite(value, "upcr", "g/g")
    if not 0 <= number <= MAX_PLAUSIBLE_UPCR_G_G:
        raise CalculatorError(
            f"upcr {fmt(number)} g/g is not plausible (expected 0 to "
            f"{fmt(MAX_PLAUSIBLE_UPCR_G_G)} g/g); check the unit", "upcr"
        )
    return number


def _previous(code: str) -> Status:
    key = str(code).strip().lower()
    if key not in BY_SLUG:
        raise CalculatorError(
            f"previous must be one of {', '.join(BY_SLUG)}; got {code!r}", "previous"
        )
    return BY_SLUG[key]
