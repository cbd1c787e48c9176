"""Milestone re-checks: a signed candidate screened again as of enrollment, lymphodepletion and infusion."""

from __future__ import annotations

from fastapi import APIRouter

from trialdesk.app import workspace as ws
from trialdesk.app.deps import CanRead, NowDep, RuntimeDep, SessionDep
from trialdesk.app.milestones import milestone_checks

router = APIRouter(tags=["milestones"])


@router.get("/candidates/{number}/milestones")
def milestones(number: str, auth: CanRead, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    """Each milestone date screened against the latest signature: ``drift`` lists the criteria whose outcome
    changed (old -> new, with the reason); a milestone without a date is ``not_set``. Computed on request."""
    return milestone_checks(db, rt.engine, ws.candidate_by_number(db, number), now.date())
