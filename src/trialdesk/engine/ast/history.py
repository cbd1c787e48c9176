"""The history node: conditions, procedures, drugs, vaccines, allergies, consent, studies.

History is taken as complete (criteria.md, "Two kinds of evidence"): no
matching record is FALSE, reported as "no record of ...". A malformed record
whose codes match turns FALSE into UNKNOWN, never into a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.engine.ast.base import Node, Window

KINDS = ("condition", "procedure", "medication", "immunization", "allergy", "consent", "study")
MATCHES = ("active", "onset", "any")


@dataclass(frozen=True, slots=True)
class Has(Node):
    """TRUE when the record holds a matching entry in the window.

    ``kind`` picks the record type; ``valuesets`` the codes (empty: any entry).
    ``match`` for conditions: ``active`` (active over the window; data.md),
    ``onset`` (onset date in the window, whatever the status), ``any`` (any
    record, any status, any date). Procedures, drugs and studies count when
    their period overlaps the window; vaccines when dated in it. Allergy
    filters: ``allergy_type``, ``criticality``, ``severity``, ``manifestations``.
    """

    KEY = "has"
    kind: str
    valuesets: tuple[str, ...] = ()
    window: Window = Window()
    match: str = "active"
    allergy_type: str | None = None
    criticality: str | None = None
    severity: str | None = None
    manifestations: tuple[str, ...] = ()
