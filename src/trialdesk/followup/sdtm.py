"""CSV exports with CDISC SDTM variable names (DM, EX, AE, LB, VS) and a subject-level summary.

Variable names and controlled terms follow the SDTM Implementation Guide
(SDTMIG v3.4): dates ISO 8601 (``--DTC``); ``RFSTDTC`` is the CAR-NK infusion
date, so study day ``--DY`` is ``date - RFSTDTC + 1`` on or after it and
``date - RFSTDTC`` before it (no day 0; protocol day 28 is ``--DY`` 29);
``RFXSTDTC`` is the first exposure (lymphodepletion). ``LBTOXGR`` is the CTCAE
v5 grade trialdesk computed (results after the infusion with the limit their
term needs), blank otherwise. The summary file is not an SDTM domain; its
columns borrow ADaM ADSL-style names, explained in docs/followup.md.
Every file is written to a temporary file and renamed, so a failed export
never leaves half a file.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from trialdesk.followup.evaluate import SubjectReport
from trialdesk.followup.immunology import cd19_course
from trialdesk.followup.outcome import MET, NOT_MET
from trialdesk.followup.records import LAB_TESTS, VITALS, Subject
from trialdesk.followup.safety import lab_grades
from trialdesk.population.prescreen import atomic_write

#: summary column -> (cohort, the per-visit endpoint it reports): Y met, N not met, NE not evaluable
#: or no visit, blank for the other cohort
SUMMARY_ENDPOINTS = {"SRI4FL": ("SLE", "sri-4"), "LLDASFL": ("SLE", "lldas/clldas"),
                     "DORISFL": ("SLE", "doris-remission"), "DFREMFL": ("SLE", "drug-free-remission"),
                     "IPNACRFL": ("SRNS", "ipna-complete-remission"), "IPNAREMFL": ("SRNS", "ipna-remission"),
                     "RELAPSFL": ("SRNS", "ipna-relapse")}


def study_day(subject: Subject, day: date) -> int:
    """SDTM --DY relative to RFSTDTC (the infusion): no day 0."""
    delta = (day - subject.infusion).days
    return delta + 1 if delta >= 0 else delta


def _usubjid(study: str, subject: Subject) -> str:
    return f"{study}-{subject.id}"


def _visit_on(subject: Subject, day: date) -> str:
    return next((v for v, d in subject.visit_dates() if d == day), "")


def dm_rows(study: str, reports: list[SubjectReport], titles: dict[str, str]) -> list[dict[str, object]]:
    rows = []
    for r in reports:
        s = r.subject
        first = min([d.day for d in s.doses] + [s.infusion])
        rows.append({"STUDYID": study, "DOMAIN": "DM", "USUBJID": _usubjid(study, s), "SUBJID": s.id,
                     "RFSTDTC": s.infusion.isoformat(), "RFXSTDTC": first.isoformat(),
                     "RFXENDTC": max([d.day for d in s.doses] + [s.infusion]).isoformat(),
                     "BRTHDTC": s.birth_date.isoformat(), "AGE": s.age_on(s.infusion), "AGEU": "YEARS",
                     "SEX": "M" if s.sex == "male" else "F", "ARMCD": s.cohort, "ARM": titles.get(s.cohort, s.cohort),
                     "ACTARMCD": s.cohort, "ACTARM": titles.get(s.cohort, s.cohort)})
    return rows


def ex_rows(study: str, reports: list[SubjectReport]) -> list[dict[str, object]]:
    rows = []
    for r in reports:
        s = r.subject
        for seq, d in enumerate(sorted(s.doses, key=lambda d: (d.day, d.kind, d.agent)), 1):
            rows.append({"STUDYID": study, "DOMAIN": "EX", "USUBJID": _usubjid(study, s), "EXSEQ": seq,
                         "EXTRT": d.agent, "EXCAT": d.kind.upper(), "EXDOSE": f"{d.dose:g}", "EXDOSU": d.unit,
                         "EXLOT": d.lot or "", "EXSTDTC": d.day.isoformat(), "EXENDTC": d.day.isoformat(),
                         "EXSTDY": study_day(s, d.day), "EXENDY": study_day(s, d.day)})
    return rows


def ae_rows(study: str, reports: list[SubjectReport]) -> list[dict[str, object]]:
    rows = []
    for r in reports:
        s = r.subject
        for seq, a in enumerate(sorted(s.adverse_events, key=lambda a: (a.onset, a.term)), 1):
            rows.append({"STUDYID": study, "DOMAIN": "AE", "USUBJID": _usubjid(study, s), "AESEQ": seq,
                         "AETERM": a.term, "AEDECOD": a.term, "AECAT": "INFECTION" if a.infection else "",
                         "AETOXGR": a.grade, "AESER": "Y" if a.serious else "N",
                         "AEREL": "RELATED" if a.related else "NOT RELATED",
                         "AESTDTC": a.onset.isoformat(), "AEENDTC": a.resolved.isoformat() if a.resolved else "",
                         "AESTDY": study_day(s, a.onset), "AEENDY": study_day(s, a.resolved) if a.resolved else ""})
    return rows


def lb_rows(study: str, reports: list[SubjectReport]) -> list[dict[str, object]]:
    rows = []
    for r in reports:
        s = r.subject
        grades = {(g.lab.test, g.lab.day): g.grade for g in lab_grades(s)}
        for seq, x in enumerate(sorted(s.labs, key=lambda x: (x.day, x.test)), 1):
            t = LAB_TESTS[x.test]
            value, _, unit = x.given.partition(" ")
            indicator = ("LOW" if x.low is not None and x.value < x.low else
                         "HIGH" if x.high is not None and x.value > x.high else
                         "NORMAL" if x.low is not None or x.high is not None else "")
            grade = grades.get((x.test, x.day))
            rows.append({"STUDYID": study, "DOMAIN": "LB", "USUBJID": _usubjid(study, s), "LBSEQ": seq,
                         "LBTESTCD": t.sdtm, "LBTEST": t.label, "LBLOINC": t.loinc, "LBORRES": value,
                         "LBORRESU": unit, "LBSTRESN": f"{x.value:.6g}", "LBSTRESU": t.unit,
                         "LBSTNRLO": "" if x.low is None else f"{x.low:.6g}",
                         "LBSTNRHI": "" if x.high is None else f"{x.high:.6g}", "LBNRIND": indicator,
                         "LBTOXGR": "" if grade is None else grade, "VISIT": _visit_on(s, x.day),
                         "LBDTC": x.day.isoformat(), "LBDY": study_day(s, x.day)})
    return rows


def vs_rows(study: str, reports: list[SubjectReport]) -> list[dict[str, object]]:
    rows = []
    for r in reports:
        s = r.subject
        seq = 0
        for v in sorted(s.vitals, key=lambda v: v.day):
            for name, value in v.values.items():
                sign = VITALS[name]
                seq += 1
                rows.append({"STUDYID": study, "DOMAIN": "VS", "USUBJID": _usubjid(study, s), "VSSEQ": seq,
                             "VSTESTCD": sign.sdtm, "VSTEST": sign.label, "VSORRES": f"{value:g}",
                             "VSORRESU": sign.unit, "VSSTRESN": f"{value:g}", "VSSTRESU": sign.unit,
                             "VISIT": _visit_on(s, v.day),
                             "VSDTC": v.day.isoformat(), "VSDY": study_day(s, v.day)})
    return rows


def summary_rows(study: str, reports: list[SubjectReport], visit: str, cd19_below: float,
                 as_of: date) -> list[dict[str, object]]:
    """One row per subject: follow-up, worst toxicity grades, DLT, infections, B cells, efficacy at ``visit``."""
    rows = []
    for r in reports:
        s = r.subject
        seen = [d for _, d in s.visit_dates()] + ([s.last_contact] if s.last_contact else [])
        last = max([d for d in seen if d <= as_of] + [s.infusion])

        def grade(endpoint: str) -> object:
            o = r.summary_of(endpoint)
            return "" if o.value is None else int(o.value)

        dlt = r.summary_of("dlt-candidate").status
        depleted, recovered = (d if d is not None and d <= as_of else None for d in cd19_course(s, cd19_below))
        row: dict[str, object] = {
            "STUDYID": study, "USUBJID": _usubjid(study, s), "ARMCD": s.cohort, "AGE": s.age_on(s.infusion),
            "SEX": "M" if s.sex == "male" else "F", "TRTSDT": s.infusion.isoformat(), "LSTFUDT": last.isoformat(),
            "FUDAYS": s.study_day(last), "WCRSGR": grade("worst-crs"), "WICANSGR": grade("worst-icans"),
            "WCYTOGR": grade("worst-cytopenia"), "WLBTOXGR": grade("worst-lab-toxicity"),
            "AEMAXGR": max((a.grade for a in s.adverse_events), default=""),
            "DLTFL": {MET: "Y", NOT_MET: "N"}.get(dlt, "NE"), "INFN": int(r.summary_of("infections").value or 0),
            "CD19DDY": "" if depleted is None else s.study_day(depleted),
            "CD19RDY": "" if recovered is None or depleted is None else s.study_day(recovered), "EFFVISIT": visit,
        }
        at = r.at(visit)
        for column, (cohort, endpoint) in SUMMARY_ENDPOINTS.items():
            if cohort != s.cohort:
                row[column] = ""
                continue
            names = endpoint.split("/")
            found = [o for o in (at.outcomes if at else ()) if o.endpoint in names]
            row[column] = {MET: "Y", NOT_MET: "N"}.get(found[0].status, "NE") if found else "NE"
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, object]], out: Path, columns: list[str] | None = None) -> None:
    """Write ``rows`` as CSV (header from ``columns`` or the first row), atomically."""
    header = columns or (list(rows[0]) if rows else [])

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(out, write)


def export_all(study: str, reports: list[SubjectReport], titles: dict[str, str], visit: str, cd19_below: float,
               as_of: date, folder: Path) -> list[Path]:
    """Write dm.csv, ex.csv, ae.csv, lb.csv, vs.csv and subjects.csv into ``folder``; the paths written."""
    tables = {"dm": dm_rows(study, reports, titles), "ex": ex_rows(study, reports), "ae": ae_rows(study, reports),
              "lb": lb_rows(study, reports), "vs": vs_rows(study, reports),
              "subjects": summary_rows(study, reports, visit, cd19_below, as_of)}
    written = []
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        write_csv(rows, path, None if rows else list(_EMPTY_HEADERS.get(name, ())))
        written.append(path)
    return written


#: headers of a domain with no rows (e.g. no adverse events yet), so the file is still a valid table
_EMPTY_HEADERS = {
    "ex": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXCAT", "EXDOSE", "EXDOSU", "EXLOT", "EXSTDTC",
           "EXENDTC", "EXSTDY", "EXENDY"),
    "ae": ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AECAT", "AETOXGR", "AESER", "AEREL",
           "AESTDTC", "AEENDTC", "AESTDY", "AEENDY"),
    "lb": ("STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBLOINC", "LBORRES", "LBORRESU",
           "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBTOXGR", "VISIT", "LBDTC", "LBDY"),
    "vs": ("STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU", "VSSTRESN",
           "VSSTRESU", "VISIT", "VSDTC", "VSDY"),
}
