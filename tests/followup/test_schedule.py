"""The follow-up schedule: loaded strictly from schedule.yaml; due dates, windows and status.

Expected dates are counted by hand on the calendar from the visit rule (day N = infusion + N
days; month N = the same day N calendar months later, clamped to the month's end) and the
window in schedule.yaml.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from trialdesk.errors import ProtocolValidationError
from trialdesk.followup.schedule import due_dates, out_of_window, visit_dates, visit_status
from trialdesk.protocol.load import default_path, load

SCHEDULE = load().schedule
INFUSION = date(2026, 1, 31)


def test_shipped_schedule_has_the_issue_visits_in_order():
    ids = [v.id for v in SCHEDULE.visits]
    assert ids == (["screening", "ld-5", "ld-4", "ld-3", "infusion"] + [f"d{n}" for n in range(1, 15)]
                   + ["d21", "d28", "m2", "m3", "m6", "m9", "m12", "m18", "m24"])
    assert SCHEDULE.visit("d28").items("SLE")[-3:] == ("sledai-2k", "pga", "bilag")
    assert "sledai-2k" not in SCHEDULE.visit("d28").items("SRNS")


@pytest.mark.parametrize("visit,target,opens,closes", [
    # day visits: infusion 2026-01-31 + N days
    ("ld-5", date(2026, 1, 26), date(2026, 1, 26), date(2026, 1, 26)),
    ("d1", date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 1)),
    ("d21", date(2026, 2, 21), date(2026, 2, 19), date(2026, 2, 23)),    # window +-2
    ("d28", date(2026, 2, 28), date(2026, 2, 25), date(2026, 3, 3)),     # window +-3
    ("screening", date(2026, 1, 17), date(2026, 1, 3), date(2026, 1, 25)),  # day -14, -14/+8
    # month visits: 31 January + 1 month clamps to 28 February (2026 is not a leap year)
    ("m3", date(2026, 4, 30), date(2026, 4, 23), date(2026, 5, 7)),     # 31 Apr does not exist
    ("m6", date(2026, 7, 31), date(2026, 7, 17), date(2026, 8, 14)),    # window +-14
    ("m24", date(2028, 1, 31), date(2028, 1, 1), date(2028, 3, 1)),     # window +-30, 2028 leap year
])
def test_visit_dates(visit, target, opens, closes):
    d = visit_dates(SCHEDULE.visit(visit), INFUSION)
    assert (d.target, d.opens, d.closes) == (target, opens, closes)


def test_status_on_a_date_window_edges():
    done = {"screening", "ld-5", "ld-4", "ld-3", "infusion", *(f"d{n}" for n in range(1, 15))}
    # d21 window 19-23 Feb: on its last day it is due, the day after overdue
    on_last = {s.dates.visit.id: s.status for s in visit_status(SCHEDULE, INFUSION, date(2026, 2, 23), done)}
    assert on_last["d21"] == "due" and on_last["d28"] == "upcoming" and on_last["m2"] == "upcoming"
    after = {s.dates.visit.id: s.status for s in visit_status(SCHEDULE, INFUSION, date(2026, 2, 24), done)}
    assert after["d21"] == "overdue" and after["d28"] == "upcoming" and after["d14"] == "done"
    # d28 window opens 25 Feb (28 Feb - 3 days)
    opens = {s.dates.visit.id: s.status for s in visit_status(SCHEDULE, INFUSION, date(2026, 2, 25), done)}
    assert opens["d28"] == "due"
    before = {s.dates.visit.id: s.status for s in visit_status(SCHEDULE, INFUSION, date(2026, 2, 18), done)}
    assert before["d21"] == "upcoming"


def test_missed_daily_check_is_overdue_and_unknown_done_id_is_refused():
    status = {s.dates.visit.id: s.status
              for s in visit_status(SCHEDULE, INFUSION, date(2026, 2, 5), {"infusion", "d1", "d2", "d4"})}
    assert status["d3"] == "overdue" and status["d5"] == "due" and status["d6"] == "upcoming"
    with pytest.raises(KeyError, match="unknown visit 'd15'"):
        visit_status(SCHEDULE, INFUSION, date(2026, 2, 5), {"d15"})


def test_out_of_window():
    late = out_of_window(SCHEDULE, INFUSION, {"d21": date(2026, 2, 24), "d28": date(2026, 3, 3)})
    assert [(d.visit.id, day) for d, day in late] == [("d21", date(2026, 2, 24))]
    assert len(due_dates(SCHEDULE, INFUSION)) == len(SCHEDULE.visits)


def _edited(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "p"
    shutil.copytree(default_path(), folder)
    raw = yaml.safe_load((folder / "schedule.yaml").read_text())
    edit(raw)
    (folder / "schedule.yaml").write_text(yaml.safe_dump(raw))
    return folder


@pytest.mark.parametrize("edit,where,message", [
    (lambda r: r["visits"][1].update(colour="red"), "visits[1]", "unknown key"),
    (lambda r: r["visits"][0]["collect"]["all"].append("x-ray"), "visits.screening.collect.all", "unknown item"),
    (lambda r: r["visits"][0]["collect"].update(GVHD=["vitals"]), "visits.screening.collect", "unknown key"),
    (lambda r: r["visits"][2].update(month=1), "visits.infusion", "exactly one of day, days, month"),
    (lambda r: r["visits"][2].update(window=[-1, 0]), "visits.infusion.window", "whole and >= 0"),
    (lambda r: r["visits"][5].update(day=60), "visits.m2", "is not after d28"),
    (lambda r: r["visits"].append(dict(r["visits"][5])), "visits.d28", "duplicate"),
    (lambda r: r["parameters"].update(dlt_window_days="28 days"), "parameters.dlt_window_days", "a number"),
])
def test_loader_is_strict(tmp_path, edit, where, message):
    with pytest.raises(ProtocolValidationError, match=message) as info:
        load(_edited(tmp_path, edit))
    assert info.value.where.startswith("schedule.yaml") and where in info.value.where


def test_a_protocol_without_schedule_loads(tmp_path):
    folder = tmp_path / "p"
    shutil.copytree(default_path(), folder)
    (folder / "schedule.yaml").unlink()
    assert load(folder).schedule is None


def test_every_schedule_item_is_checked_or_declared_uncheckable():
    from trialdesk.followup.completeness import CHECKS, NOT_CHECKABLE

    assert set(SCHEDULE.items) == set(CHECKS) | NOT_CHECKABLE


def test_missing_items_of_a_done_visit():
    from trialdesk.followup.completeness import missing_items
    from trialdesk.followup.read import read_followup

    subject = read_followup(Path(__file__).parents[2] / "examples" / "followup.yaml", load()).subjects[0]
    d28 = subject.visits["d28"]
    lacking = missing_items(subject, SCHEDULE.visit("d28").items("SLE"), d28)
    # SLE-01's day 28 has haemoglobin and neutrophils, creatinine only, no C3/C4/anti-dsDNA, no vital signs
    # other than weight, and no CRS/ICANS assessment
    assert lacking == {
        "vitals": ["vital signs"], "cbc": ["wbc", "lymphocytes", "platelets"],
        "chemistry": ["albumin", "ast", "alt", "bilirubin"], "crs-icans": ["CRS", "ICANS"],
        "complement": ["c3", "c4"], "anti-dsdna": ["anti-dsdna"],
    }
