"""IPNA remission status: IPNA 2022 Table 1 rows (clinical.md 6.1), the unit trap (CL-8), CLI."""

import pytest

from trialdesk.calculators.ipna_response import STATUSES, ipna_response
from trialdesk.calculators.registry import run
from trialdesk.errors import CalculatorError, UnitError

T1 = "IPNA 2022 Table 1 (clinical.md 6.1)"
CR, PR, NR, RELAPSE = 0, 1, 2, 3


def test_status_codes() -> None:
    assert [(s.code, s.name) for s in STATUSES] == [
        (0, "complete remission"), (1, "partial remission"), (2, "no remission"), (3, "relapse"),
    ]


CASES = [  # upcr g/g (oldest first), albumin g/L, previous, expected, source
    (0.2, 35, None, CR, f"{T1} CR 'UPCR <= 20 mg/mmol (0.2 mg/mg)': 0.2 itself is CR"),
    (0.05, 18, None, CR, f"{T1} CR: UPCR alone decides, albumin is not part of CR"),
    (0.21, 30, None, PR,
     f"{T1} PR 'UPCR > 0.2 but < 2 mg/mg and serum albumin >= 30 g/L': albumin 30 included"),
    (1.99, 35, None, PR, f"{T1} PR: 1.99 < 2 mg/mg"),
    (0.21, 29.9, None, NR, f"{T1} PR needs albumin >= 30 g/L; otherwise no remission"),
    (2.0, 35, None, NR, f"{T1}: 2 mg/mg is nephrotic-range (>= 2), so not PR"),
    (5.0, 20, None, NR, f"{T1}: nephrotic-range UPCR and hypoalbuminaemia"),
    ([2.0, 2.0, 2.0], 25, "complete-remission", RELAPSE,
     (f"{T1} Relapse 'UPCR >= 200 mg/mmol (>= 2 mg/mg) on 3 consecutive days' after CR: "
     "2.0 itself counts")),
    ([3.1, 2.4, 2.2], 35, "complete-remission", RELAPSE, f"{T1} Relapse: albumin not required"),
    ([2.5, 2.5, 2.5], 25, None, NR, f"{T1} Relapse needs a child 'who previously achieved CR'"),
    ([2.5, 2.5, 2.5], 25, "partial-remission", NR, f"{T1} Relapse is defined from CR only"),
    ([2.5, 2.5, 2.5], 25, "relapse", NR,
     "module decision: a relapse is an event; a persisting one is graded again as no remission"),
    ([2.5, 1.9, 2.5], 25, "complete-remission", NR, f"{T1} Relapse: 3 consecutive days"),
    ([2.5, 2.5], 25, "complete-remission", NR, f"{T1} Relapse: 2 days are not 3"),
    ([1.99, 2.5, 2.5], 35, "complete-remission", NR, f"{T1} Relapse: day 1 below 2 mg/mg"),
    ([2.5, 2.5, 0.1], 35, "complete-remission", CR, f"{T1} CR: the latest value decides"),
    ([2.5, 2.5, 1.0], 35, "complete-remission", PR, f"{T1} PR: the latest value decides"),
]


@pytest.mark.parametrize(("upcr", "albumin", "previous", "expected", "source"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_ipna_status(upcr: float | list[float], albumin: float, previous: str | None,
                     expected: int, source: str) -> None:
    result = ipna_response(upcr, albumin, previous)
    assert result.value == expected
    assert result.extra == {"status": STATUSES[expected].name}


def test_equation_states_the_rule_and_an_unconfirmed_relapse() -> None:
    assert ipna_response(0.15, 35).equation == (
        "UPCR 0.15 g/g, albumin 35 g/L: complete remission (UPCR <= 0.2 g/g)"
    )
    pending = ipna_response([2.5], 25, "complete-remission").equation
    assert pending.endswith("not yet a relapse: UPCR >= 2 g/g on the last 1 of the 3 "
                            "consecutive days needed")


# CL-8: thresholds compared in g/g after 1 mg/mmol = 8.84 mg/g; IPNA's written SI pair
# (20 / 200 mg/mmol) is the rounded one, so these boundaries differ from it on purpose.
CL8 = "CL-8 (g/g, 1 mg/mmol = 8.84 mg/g; clinical.md 6.1 unit trap)"
CLI = [  # params, expected, source
    ({"upcr": "22.6mg/mmol", "albumin": "35g/L"}, CR,
     f"{CL8}: 22.6 x 8.84 = 199.8 mg/g = 0.1998 g/g <= 0.2 -> CR"),
    ({"upcr": "22.7mg/mmol", "albumin": "35g/L"}, PR,
     f"{CL8}: 22.7 x 8.84 = 200.7 mg/g > 0.2 g/g -> PR"),
    ({"upcr": "21mg/mmol", "albumin": "35g/L"}, CR,
     f"{CL8}: 21 mg/mmol = 0.186 g/g -> CR, though above IPNA's written 20 mg/mmol"),
    ({"upcr": "200mg/mmol", "albumin": "35g/L"}, PR,
     f"{CL8}: 200 mg/mmol = 1.768 g/g < 2 -> PR, though IPNA writes 200 mg/mmol as nephrotic"),
    ({"upcr": "200mg/g", "albumin": "35g/L"}, CR, f"{T1} CR: 200 mg/g = 0.2 g/g exactly"),
    ({"upcr": "0.2mg/mg", "albumin": "35g/L"}, CR, f"{T1} CR: 0.2 mg/mg exactly"),
    ({"upcr": "201mg/g", "albumin": "3.0g/dL"}, PR,
     f"{T1} PR: 0.201 g/g and albumin 3.0 g/dL = 30 g/L (>= 30 included)"),
    ({"upcr": "226mg/mmol,226mg/mmol,226mg/mmol", "albumin": "25g/L",
      "previous": "complete-remission"}, NR,
     f"{CL8}: 226 mg/mmol = 1.998 g/g < 2 -> no relapse"),
    ({"upcr": "227mg/mmol, 2.5g/g, 2400mg/g", "albumin": "25g/L",
      "previous": "complete-remission"}, RELAPSE,
     f"{CL8}: 227 mg/mmol = 2.007 g/g; 3 consecutive days >= 2 g/g after CR -> relapse"),
]


@pytest.mark.parametrize(("params", "expected", "source"), CLI,
                         ids=[f"{c[0]['upcr']}-{c[0]['albumin']}" for c in CLI])
def test_cli(params: dict[str, str], expected: int, source: str) -> None:
    data = run("ipna-response", params).to_json()
    assert data["value"] == expected
    assert data["status"] == STATUSES[expected].name and data["unit"] == "{status}"


@pytest.mark.parametrize(("complete", "partial"), [
    ("0.15g/g", "1.5g/g"), ("150mg/g", "1500mg/g"), ("0.15mg/mg", "1.5mg/mg"),
    ("16.968mg/mmol", "169.68mg/mmol"),  # 150 / 8.84 and 1500 / 8.84
])
def test_status_does_not_depend_on_the_upcr_unit(complete: str, partial: str) -> None:
    assert run("ipna-response", {"upcr": complete, "albumin": "30g/L"}).value == CR
    assert run("ipna-response", {"upcr": partial, "albumin": "30g/L"}).value == PR


def test_cli_shows_converted_inputs() -> None:
    result = run("ipna-response", {"upcr": "22.6mg/mmol", "albumin": "3.2g/dL"})
    assert result.inputs == {"upcr": ["22.6 mg/mmol = 0.1998 g/g"],
                             "albumin": "3.2 g/dL = 32 g/L"}


ERRORS = [  # params, error, field, message
    ({"upcr": "0.3", "albumin": "30g/L"}, UnitError, "upcr", "no unit"),
    ({"upcr": "0.3U/L", "albumin": "30g/L"}, UnitError, "upcr", "cannot convert"),
    ({"upcr": "-0.1g/g", "albumin": "30g/L"}, CalculatorError, "upcr", "not plausible"),
    ({"upcr": "300g/g", "albumin": "30g/L"}, CalculatorError, "upcr", "check the unit"),
    ({"upcr": "3g/g,3g/g,3g/g,3g/g", "albumin": "30g/L"}, CalculatorError, "upcr",
     "1 to 3 values"),
    ({"upcr": "0.3g/g", "albumin": "3.2g/L"}, CalculatorError, "albumin", "check the unit"),
    ({"upcr": "0.3g/g", "albumin": "30"}, UnitError, "albumin", "no unit"),
    ({"upcr": "0.3g/g", "albumin": "30g/L", "previous": "cr"}, CalculatorError, "previous",
     "complete-remission"),
    ({"upcr": "0.3g/g"}, CalculatorError, "albumin", "missing"),
    ({"upcr": "0.3g/g", "albumin": "30g/L", "dipstick": "trace"}, CalculatorError, "dipstick",
     "unknown key"),
]


@pytest.mark.parametrize(("params", "error", "field", "message"), ERRORS,
                         ids=[f"{e[2]}-{i}" for i, e in enumerate(ERRORS)])
def test_bad_input_names_the_key(params: dict[str, str], error: type[CalculatorError],
                                 field: str, message: str) -> None:
    with pytest.raises(error, match=message) as err:
        run("ipna-response", params)
    assert err.value.field == field
