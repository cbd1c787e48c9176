"""The site's reference-interval table supplies a ULN only where a result has none
(criteria.md, "Units and reference ranges"; clinical.md section 10)."""

from __future__ import annotations

import pytest

from conftest import AS_OF, outcomes, run_screen
from trialdesk.errors import ProtocolValidationError
from trialdesk.patient.fhir.builder import PatientBuilder
from trialdesk.site import load_reference_intervals

TABLE = """
source: "test table (not a real laboratory's)"
intervals:
  - {measure: alt, sex: any, age_from: 0, age_to: 18, high: 40, unit: U/L}
  - {measure: bilirubin, sex: any, age_from: 0, age_to: 18, high: 1.2, unit: mg/dL}
"""


def _liver(alt: float, with_range: bool) -> PatientBuilder:
    p = PatientBuilder("liver", "female", "2012-01-01", AS_OF)
    p.condition("http://snomed.info/sct", "55464009", "Systemic lupus erythematosus", "2024-01-01")
    p.qty("1920-8", 20, "U/L", 3, high=40)
    p.qty("1742-6", alt, "U/L", 3, high=40 if with_range else None)
    p.qty("14631-6", 10, "umol/L", 3)            # no range: the table's 1.2 mg/dL = 20.52 umol/L applies
    return p


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "intervals.yaml"
    path.write_text(TABLE, encoding="utf-8")
    return load_reference_intervals(path)


@pytest.mark.parametrize("alt, with_range, expected", [
    (120, False, "pass"),     # 120 / 40 (table) = 3.0 x ULN: not above 3.0
    (121, False, "fail"),     # 121 / 40 = 3.03 x ULN
    (121, True, "fail"),      # the result's own range is used first
])
def test_table_supplies_missing_uln(protocol, table, alt, with_range, expected):
    result = outcomes(run_screen(protocol, _liver(alt, with_range), "SLE", reference_intervals=table), "SLE")
    assert result["INC-LIVER"]["outcome"] == expected


def test_without_table_a_missing_uln_is_unknown(protocol):
    result = outcomes(run_screen(protocol, _liver(30, False), "SLE"), "SLE")["INC-LIVER"]
    assert result["outcome"] == "unknown"
    assert "upper limit of normal" in result["needs"][0]["what"]


def test_table_rejects_unknown_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source: x\nintervals:\n  - {measure: alt, sex: any, age_from: 0, age_to: 18, high: 40, unit: U/L, lab: y}\n")
    with pytest.raises(ProtocolValidationError, match="unknown key"):
        load_reference_intervals(path)
