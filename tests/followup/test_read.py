"""The follow-up file reader is strict: each bad input is a FollowupError naming where and why."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from trialdesk.errors import FollowupError
from trialdesk.followup.read import parse_followup, read_followup
from trialdesk.protocol.load import load

PROTOCOL = load()
FIXTURE = Path(__file__).parents[2] / "examples" / "followup.yaml"
RAW = yaml.safe_load(FIXTURE.read_text())


def _first_visit_labs(raw):
    return raw["subjects"][0]["visits"][0]["labs"]


@pytest.mark.parametrize("edit,where,message", [
    (lambda r: r.update(site="x"), "file", "unknown key"),
    (lambda r: r.update(protocol="other"), "protocol", "not 'carnk-aid'"),
    (lambda r: r["subjects"][0].update(cohort="RA"), "subjects[0].cohort", "not a cohort"),
    (lambda r: r["subjects"][0]["visits"][0].update(visit="week-3"), "subjects[0].visits[0].visit", "unknown visit"),
    (lambda r: r["subjects"][0]["visits"][1].update(visit="screening"), "subjects[0].visits[1].visit", "recorded twice"),
    (lambda r: r["subjects"][0]["visits"][0].update(date="29/12/2025"), "subjects[0].visits[0].date", "YYYY-MM-DD"),
    (lambda r: _first_visit_labs(r).update(ldh={"value": 1, "unit": "U/L"}), "subjects[0].visits[0].labs", "unknown key"),
    (lambda r: _first_visit_labs(r).update(igg={"value": 9.5, "unit": "IU/mL"}), "labs.igg.unit", "unknown unit"),
    (lambda r: _first_visit_labs(r).update(cd19={"value": 150, "unit": "g/L"}), "labs.cd19.unit", "count unit"),
    (lambda r: _first_visit_labs(r).update(alt={"value": -3, "unit": "U/L"}), "labs.alt.value", "outside"),
    (lambda r: r["subjects"][0]["visits"][0].update(pga=3.5), "visits[0].pga", "outside 0 to 3"),
    (lambda r: r["subjects"][0]["visits"][0]["vitals"].update(weight=0), "vitals.weight", "outside 1 to 400"),
    (lambda r: r["subjects"][0]["visits"][0]["bilag"].update(renal="F"), "bilag.renal", "one of A, B"),
    (lambda r: r["subjects"][0]["visits"][0].update(sledai=["headache"]), "visits[0].sledai", "unknown SLEDAI-2K"),
    (lambda r: r["subjects"][3]["visits"][0].update(pga=1), "subjects[3].visits[0].pga", "SLE subjects only"),
    (lambda r: r["subjects"][0]["visits"][5]["crs"].update(hypoxia="mask"), "visits[5].crs.hypoxia", "must be one of"),
    # SLE-02 is 11: ICANS is graded with CAPD, so an ICE score is refused (ASTCT 2019 paediatric table)
    (lambda r: r["subjects"][1]["visits"][1]["icans"].update(ice=10), "visits[1].icans.ice", "not used at age 11"),
    (lambda r: r["subjects"][0]["adverse_events"][0].update(grade=6), "adverse_events[0].grade", "1 to 5"),
    (lambda r: r["subjects"][0]["medications"][0].update(drug="budesonide"), "medications[0].drug", "unknown glucocorticoid"),
    (lambda r: r["subjects"][0]["doses"][0].update(kind="conditioning"), "doses[0].kind", "lymphodepletion"),
    (lambda r: r["subjects"].append(copy.deepcopy(r["subjects"][0])), "subjects[6].id", "duplicate"),
])
def test_bad_input_names_where(edit, where, message):
    raw = copy.deepcopy(RAW)
    edit(raw)
    with pytest.raises(FollowupError, match=message) as info:
        parse_followup(raw, PROTOCOL)
    assert where in info.value.where


def test_units_are_converted_to_the_canonical_unit():
    f = parse_followup(RAW, PROTOCOL)
    s = f.subjects[0]
    # UPCR 120 mg/mmol x 8.84 mg/g per mg/mmol = 1060.8 mg/g = 1.0608 g/g (units.py, criteria.md "Units")
    assert s.lab("upcr", s.visits["screening"]).value == pytest.approx(1.0608)
    # creatinine 0.8 mg/dL x 88.4 = 70.72 umol/L; haemoglobin 10.5 g/dL = 105 g/L
    assert s.lab("creatinine", s.visits["screening"]).value == pytest.approx(70.72)
    assert s.lab("hemoglobin", s.visits["d28"]).value == pytest.approx(105)
    # CD19 0.12 x 10^9/L would be 120 /uL; here 2 cells/uL stays 2 /uL
    assert s.lab("cd19", s.visits["d21"]).value == 2


def test_json_and_yaml_read_the_same(tmp_path):
    path = tmp_path / "f.json"
    path.write_text(json.dumps(RAW, default=str))
    assert read_followup(path, PROTOCOL) == read_followup(FIXTURE, PROTOCOL)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(FollowupError, match="cannot read"):
        read_followup(bad, PROTOCOL)
