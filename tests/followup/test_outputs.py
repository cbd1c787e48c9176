"""Outputs of the follow-up: SDTM CSVs, the subject summary, the figures and the CLI."""

from __future__ import annotations

import copy
import csv
import json
from datetime import date
from pathlib import Path

import yaml
from typer.testing import CliRunner

from trialdesk.cli import app
from trialdesk.followup.evaluate import evaluate
from trialdesk.followup.plots import _daily_steroid, draw_swimmer, draw_timeline
from trialdesk.followup.read import parse_followup
from trialdesk.followup.sdtm import export_all
from trialdesk.protocol.load import load

PROTOCOL = load()
FIXTURE = Path(__file__).parents[2] / "examples" / "followup.yaml"
RAW = yaml.safe_load(FIXTURE.read_text())
AS_OF = date(2026, 4, 15)
REPORTS = evaluate(parse_followup(RAW, PROTOCOL), PROTOCOL, AS_OF)
TITLES = {c.id: c.title for c in PROTOCOL.cohorts.values()}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_sdtm_exports(tmp_path):
    export_all("carnk-aid", REPORTS, TITLES, "d28", 10, AS_OF, tmp_path)
    ae = _read(tmp_path / "ae.csv")
    crs = next(r for r in ae if r["USUBJID"] == "carnk-aid-SLE-01" and r["AETERM"] == "Cytokine release syndrome")
    # onset 13 Jan, RFSTDTC = infusion 12 Jan: SDTM study day 13 - 12 + 1 = 2 (no day 0)
    assert (crs["AETOXGR"], crs["AESTDY"], crs["AEREL"], crs["AESER"]) == ("2", "2", "RELATED", "N")
    lb = _read(tmp_path / "lb.csv")
    alt = next(r for r in lb if r["USUBJID"] == "carnk-aid-SLE-01" and r["LBTESTCD"] == "ALT" and r["LBDTC"] == "2026-01-19")
    # ALT 220 U/L with ULN 40: 5.5 x ULN -> CTCAE grade 3; protocol day 7 = study day 8
    assert (alt["LBTOXGR"], alt["LBNRIND"], alt["LBDY"], alt["VISIT"], alt["LBLOINC"]) == ("3", "HIGH", "8", "d7", "1742-6")
    crea = next(r for r in lb if r["USUBJID"] == "carnk-aid-SLE-01" and r["LBTESTCD"] == "CREAT")
    # as recorded (0.8 mg/dL, ULN 1.0 mg/dL) and standardised (x 88.4 = 70.72 umol/L, ULN 88.4)
    assert (crea["LBORRES"], crea["LBORRESU"], crea["LBSTRESN"], crea["LBSTRESU"], crea["LBSTNRHI"]) == \
        ("0.8", "mg/dL", "70.72", "umol/L", "88.4")
    ex = _read(tmp_path / "ex.csv")
    # lymphodepletion 7 Jan = protocol day -5 = study day -5 (before RFSTDTC: no +1)
    assert {r["EXSTDY"] for r in ex if r["USUBJID"] == "carnk-aid-SLE-01" and r["EXCAT"] == "LYMPHODEPLETION"} == \
        {"-5", "-4", "-3"}
    dm = {r["SUBJID"]: r for r in _read(tmp_path / "dm.csv")}
    assert (dm["SLE-01"]["RFSTDTC"], dm["SLE-01"]["RFXSTDTC"], dm["SLE-01"]["AGE"], dm["SLE-01"]["SEX"]) == \
        ("2026-01-12", "2026-01-07", "29", "F")
    vs = _read(tmp_path / "vs.csv")
    assert {r["VSTESTCD"] for r in vs} >= {"TEMP", "SYSBP", "DIABP", "PULSE", "OXYSAT", "WEIGHT", "HEIGHT"}
    summary = {r["USUBJID"]: r for r in _read(tmp_path / "subjects.csv")}
    s1 = summary["carnk-aid-SLE-01"]
    assert (s1["WCRSGR"], s1["WLBTOXGR"], s1["DLTFL"], s1["CD19DDY"], s1["CD19RDY"], s1["SRI4FL"], s1["IPNACRFL"]) == \
        ("2", "3", "Y", "21", "90", "Y", "")
    assert summary["carnk-aid-SRNS-03"]["DLTFL"] == "NE"
    assert summary["carnk-aid-SRNS-01"]["IPNAREMFL"] == "Y" and summary["carnk-aid-SLE-03"]["SRI4FL"] == "NE"


def test_figures_are_written(tmp_path):
    draw_timeline(REPORTS[0], tmp_path / "t.svg", 28, 10, 4)
    draw_timeline(REPORTS[5], tmp_path / "t.png", 28, 10, 4)  # a subject with almost no data
    draw_swimmer(REPORTS, tmp_path / "s.svg", 28)
    svg = (tmp_path / "t.svg").read_text()
    assert "SLE-01 (SLE), infusion 2026-01-12" in svg and "Cytokine release syndrome G2" in svg
    assert "Alanine aminotransferase increased G3" in svg
    assert "ALT G3, NEUT G2" in svg  # the day-7 laboratory toxicity, graded by CTCAE v5
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SRNS-03 (SRNS)" in (tmp_path / "s.svg").read_text()


def test_the_timeline_draws_the_steroid_dose_day_by_day():
    # SLE-01 (examples/followup.yaml): prednisone 15 mg/day to 2026-02-11, 5 mg/day 2026-02-12 to
    # 2026-03-31, none after; infusion 2026-01-12 is day 0 (the x axis: days from the infusion), so
    # 2026-02-11 is day 30, 2026-02-12 day 31, 2026-03-31 day 78 and 2026-04-01 day 79.
    daily = dict(_daily_steroid(REPORTS[0]))
    assert (daily[30], daily[31], daily[78], daily[79]) == (15.0, 5.0, 5.0, 0.0)


def test_cli(tmp_path):
    raw = copy.deepcopy(RAW)
    raw["subjects"] = raw["subjects"][:2]
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(raw))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, ["followup", "report", str(path), "--out", str(out), "--as-of", "2026-04-15"])
    assert result.exit_code == 0, result.output
    assert "cohort rates at m3" in result.output  # the latest visit any subject has done
    names = {p.name for p in out.iterdir()}
    assert {"dm.csv", "ex.csv", "ae.csv", "lb.csv", "vs.csv", "subjects.csv", "cohort.csv", "toxicity.csv",
            "endpoints.json", "swimmer.svg", "swimmer.png", "timeline-SLE-02.svg"} <= names
    result = runner.invoke(app, ["followup", "endpoints", str(path), "--as-of", "2026-04-15", "--format", "json"])
    data = json.loads(result.stdout)
    assert data[1]["subject"] == "SLE-02" and data[1]["visits"][-1]["visit"] == "d28"
    result = runner.invoke(app, ["followup", "due", str(path), "--on", "2026-04-15"])
    assert "overdue  m2" in result.stdout and "due      m3" in result.stdout
    assert "incomplete d28 (2026-02-17): vitals: vital signs; cbc: hemoglobin" in result.stdout
    raw["subjects"][0]["visits"][0]["labs"]["igg"]["unit"] = "mg/day"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["followup", "endpoints", str(path)])
    assert result.exit_code == 2 and "subjects[0].visits[0].labs.igg.unit" in result.stderr
