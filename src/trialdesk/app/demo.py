"""Demo data for ``trialdesk serve --demo``: four users (one per role) and the example patients.

Demo passwords are fixed and printed: demo mode is for trying the application, never for
real data (it also uses a random secret key and, by default, a throwaway database).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.app import workspace as ws
from trialdesk.app.deps import Runtime
from trialdesk.app.models import Candidate, User
from trialdesk.app.users import create_user

__all__ = ["DEMO_USERS", "EXAMPLES", "load_demo"]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DEMO_AS_OF = date(2026, 3, 2)
DEMO_USERS = (  # username, display name, role, password
    ("coordinator", "Demo Coordinator", "coordinator", "coordinator-demo"),
    ("investigator", "Dr. Demo Investigator", "investigator", "investigator-demo"),
    ("monitor", "Demo Monitor", "monitor", "monitor-demo"),
    ("admin", "Demo Admin", "admin", "admin-demo-pass"),
)


def load_demo(rt: Runtime, now: datetime, examples: Path = EXAMPLES) -> list[str]:
    """Create the demo users and one candidate per example bundle (screened as of 2026-03-02).

    Does nothing if the database already has users. Returns the screening numbers created.
    """
    numbers: list[str] = []
    with rt.sessions() as db:
        if db.execute(select(func.count()).select_from(User)).scalar_one():
            return numbers
        users = {role: create_user(db, rt.passwords, None, now, name, display, role, password, actor_name="demo")
                 for name, display, role, password in DEMO_USERS}
        for path in sorted(examples.glob("*.json")):
            cohort = {"sle": "SLE", "srns": "SRNS"}.get(path.name.split("-")[0])
            c = ws.create_candidate(db, rt.engine, users["coordinator"], now, cohort, DEMO_AS_OF)
            ws.import_bundle(db, rt.engine, users["coordinator"], now, c, path.read_bytes())
            numbers.append(c.number)
    return numbers


def demo_candidates(db: Session) -> int:
    return db.execute(select(func.count()).select_from(Candidate)).scalar_one()
