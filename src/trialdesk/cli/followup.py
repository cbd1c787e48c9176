"""``trialdesk followup``: the visit schedule, due visits, endpoints and the report files.

Exit codes: 0 done; 2 bad usage, an unreadable protocol or a follow-up file
that fails its checks (stderr names where and why; nothing is written).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["followup_app"]

followup_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="After the infusion: schedule, due visits, endpoints, plots and SDTM exports.")

FileArg = Annotated[Path, typer.Argument(help="Follow-up file (YAML or JSON, docs/followup.md)")]
ProtocolOpt = Annotated[Optional[Path], typer.Option("--protocol", help="Protocol folder (default carnk-aid)")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Date the follow-up is read as of (default today)")]


def _date(value: str | None, name: str) -> date | None:
    from trialdesk.cli import _date as parse

    return parse(value, name)


def _protocol(folder: Path | None):  # type: ignore[no-untyped-def]
    from trialdesk.errors import ProtocolError
    from trialdesk.protocol.load import load

    try:
        protocol = load(folder)
    except ProtocolError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if protocol.schedule is None:
        typer.echo(f"error: protocol {protocol.id} has no schedule.yaml", err=True)
        raise typer.Exit(2)
    return protocol


def _read(path: Path, protocol):  # type: ignore[no-untyped-def]
    from trialdesk.errors import FollowupError
    from trialdesk.followup.read import read_followup

    try:
        followup = read_followup(path, protocol)
    except FollowupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for issue in followup.issues:
        typer.echo(f"warning: {issue}", err=True)
    return followup


@followup_app.command("schedule")
def schedule(
    infusion: Annotated[str, typer.Option("--infusion", help="Infusion date (day 0), YYYY-MM-DD")],
    cohort: Annotated[str, typer.Option("--cohort", help="Cohort whose collect items to list")] = "SLE",
    protocol_dir: ProtocolOpt = None,
) -> None:
    """Every visit's target date and window for one infusion date, and what it collects."""
    from trialdesk.followup.schedule import due_dates

    protocol = _protocol(protocol_dir)
    if cohort not in protocol.cohorts:
        raise typer.BadParameter(f"{cohort!r} is not a cohort of {protocol.id}", param_hint="--cohort")
    for d in due_dates(protocol.schedule, _date(infusion, "--infusion")):  # type: ignore[arg-type]
        print(f"{d.visit.id:<10} {d.target}  window {d.opens} to {d.closes}  {', '.join(d.visit.items(cohort))}")


@followup_app.command("due")
def due(path: FileArg, on: Annotated[Optional[str], typer.Option("--on", help="Date (default today)")] = None,
        protocol_dir: ProtocolOpt = None) -> None:
    """Per subject: visits due or overdue on a date, visits done outside their window or incomplete."""
    from trialdesk.followup.completeness import missing_items
    from trialdesk.followup.schedule import out_of_window, visit_status

    protocol = _protocol(protocol_dir)
    followup = _read(path, protocol)
    day = _date(on, "--on") or date.today()
    for s in followup.subjects:
        status = visit_status(protocol.schedule, s.infusion, day, set(s.visits))
        late = out_of_window(protocol.schedule, s.infusion, s.visits)
        print(f"{s.id} ({s.cohort}, infusion {s.infusion}) on {day}:")
        for kind in ("overdue", "due"):
            for v in (v for v in status if v.status == kind):
                print(f"  {kind:<8} {v.dates.visit.id:<10} window {v.dates.opens} to {v.dates.closes}")
        for d, when in late:
            print(f"  outside window: {d.visit.id} done {when}, window {d.opens} to {d.closes}")
        for visit_id, when in sorted(s.visits.items(), key=lambda item: item[1]):
            lacking = missing_items(s, protocol.schedule.visit(visit_id).items(s.cohort), when)
            if lacking and when <= day:
                print(f"  incomplete {visit_id} ({when}): "
                      + "; ".join(f"{item}: {', '.join(what)}" for item, what in lacking.items()))


@followup_app.command("endpoints")
def endpoints(path: FileArg, as_of: AsOfOpt = None, format: Annotated[str, typer.Option(
        "--format", help="text or json")] = "text", protocol_dir: ProtocolOpt = None) -> None:
    """Every endpoint at every visit, and each subject's safety summary."""
    from trialdesk.followup.evaluate import evaluate

    if format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    protocol = _protocol(protocol_dir)
    reports = evaluate(_read(path, protocol), protocol, _date(as_of, "--as-of") or date.today())
    if format == "json":
        print(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2))
        return
    for r in reports:
        print(f"{r.subject.id} ({r.subject.cohort}, infusion {r.subject.infusion})")
        for v in r.visits:
            for o in v.outcomes:
                print(f"  {v.visit:<11} day {v.study_day:>4}  {o.endpoint:<24} {o.status:<13} {o.detail}")
        for o in r.summary:
            print(f"  {'summary':<20} {o.endpoint:<24} {o.status:<13} {o.detail}")


def _report_json(r) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"subject": r.subject.id, "cohort": r.subject.cohort, "infusion": r.subject.infusion.isoformat(),
            "visits": [{"visit": v.visit, "date": v.day.isoformat(), "day": v.study_day,
                        "endpoints": [o.to_json() for o in v.outcomes]} for v in r.visits],
            "summary": [o.to_json() for o in r.summary]}


@followup_app.command("report")
def report(
    path: FileArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created if needed)")],
    as_of: AsOfOpt = None,
    visit: Annotated[Optional[str], typer.Option(
        "--visit", help="Visit of the cohort rates (default: the latest visit any subject has done)")] = None,
    protocol_dir: ProtocolOpt = None,
) -> None:
    """Write endpoints.json, cohort.csv, SDTM CSVs (dm, ex, ae, lb, vs), subjects.csv and the figures."""
    from trialdesk.followup.cohort import rate_table, toxicity_table
    from trialdesk.followup.evaluate import evaluate
    from trialdesk.followup.plots import draw_swimmer, draw_timeline
    from trialdesk.followup.sdtm import export_all, write_csv
    from trialdesk.population.prescreen import atomic_write

    protocol = _protocol(protocol_dir)
    followup = _read(path, protocol)
    day = _date(as_of, "--as-of") or date.today()
    order = [v.id for v in protocol.schedule.visits]
    if visit is None:
        done = {v for s in followup.subjects for v, d in s.visits.items() if d <= day}
        visit = max(done, key=order.index) if done else order[0]
    elif visit not in order:
        raise typer.BadParameter(f"{visit!r} is not a visit of the schedule", param_hint="--visit")
    reports = evaluate(followup, protocol, day)
    p = protocol.schedule.parameters
    out.mkdir(parents=True, exist_ok=True)
    written = export_all(protocol.id, reports, {c.id: c.title for c in protocol.cohorts.values()}, visit,
                         p["cd19_depleted_below_per_ul"], day, out)
    cohort_rows = [{"cohort": r.cohort, "endpoint": r.endpoint, "visit": r.visit, "n": r.n, "evaluable": r.evaluable,
                    "met": r.met, "rate": "" if r.rate is None else f"{r.rate:.3f}",
                    "ci95_low": "" if r.ci is None else f"{r.ci[0]:.3f}",
                    "ci95_high": "" if r.ci is None else f"{r.ci[1]:.3f}",
                    "rate_all_nri": f"{r.rate_all:.3f}" if r.rate_all is not None else ""}
                   for r in rate_table(reports, visit)]
    write_csv(cohort_rows, out / "cohort.csv")
    tox_rows = [{"cohort": t.cohort, "endpoint": t.endpoint, "n": t.n, "evaluable": t.evaluable,
                 **{f"grade_{g}": t.by_grade.get(g, 0) for g in range(5)}, "grade_3_or_more": t.at_least(3)}
                for t in toxicity_table(reports)]
    write_csv(tox_rows, out / "toxicity.csv")
    text = json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2)
    atomic_write(out / "endpoints.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    window = int(p["dlt_window_days"])
    for r in reports:
        for suffix in ("png", "svg"):
            draw_timeline(r, out / f"timeline-{r.subject.id}.{suffix}", window,
                          p["cd19_depleted_below_per_ul"], p["igg_severe_below_g_l"])
    for suffix in ("png", "svg"):
        draw_swimmer(reports, out / f"swimmer.{suffix}", window)
    typer.echo(f"{len(reports)} subjects as of {day}; cohort rates at {visit}; "
               f"{len(written) + 3 + 2 * len(reports) + 2} files in {out}")
