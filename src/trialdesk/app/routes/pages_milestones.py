"""Pages for milestone re-checks: the drift against the signed screening, and the milestone dates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from trialdesk.app import workspace as ws
from trialdesk.app.deps import CanRead, CanWrite, NowDep, RuntimeDep, SeenVersion, SessionDep
from trialdesk.app.errors import Conflict
from trialdesk.app.milestones import milestone_checks
from trialdesk.app.routes.pages import Text, _date, back, render

router = APIRouter(include_in_schema=False)
DateField = Annotated[str, Form(max_length=10)]


@router.get("/candidates/{number}/milestones")
def milestones_page(number: str, request: Request, auth: CanRead, db: SessionDep, rt: RuntimeDep,
                    now: NowDep) -> HTMLResponse:
    """The drift per milestone; a candidate that cannot be re-checked (not signed) gets the reason."""
    c = ws.candidate_by_number(db, number)
    try:
        m = milestone_checks(db, rt.engine, c, now.date())
    except Conflict as exc:
        return render(request, "milestones.html", auth, c=c, m=None, problem=exc.message)
    return render(request, "milestones.html", auth, c=c, m=m, problem=None)


@router.post("/candidates/{number}/milestones")
def milestone_dates_submit(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                           seen: SeenVersion, enrollment: DateField = "", lymphodepletion: DateField = "",
                           infusion: DateField = "", reason: Text = "") -> Response:
    """Set the three milestone dates (an empty field clears that date); cohort and screening date stay."""
    c = ws.candidate_by_number(db, number)
    changes = {m: _date(value, f"{m} date") for m, value in
               (("enrollment", enrollment), ("lymphodepletion", lymphodepletion), ("infusion", infusion))}
    ws.update_candidate(db, rt.engine, auth.user, now, c, changes, reason or None, seen=seen)
    return back(f"/candidates/{c.number}/milestones")
