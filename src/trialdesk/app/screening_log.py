"""The screening log as files: CSV, XLSX and a CONSORT-style flow figure (SVG).

All three are made from :func:`trialdesk.app.workspace.screening_log`, one row per candidate.
Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return; OWASP "CSV injection") get a leading apostrophe in the CSV; in the XLSX
every cell is stored as a string, never a formula.

The flow figure follows the CONSORT 2010 flow diagram's enrolment part (Schulz KF et al.,
BMJ 2010;340:c332, figure 1), one column per cohort: assessed for eligibility -> excluded (not
eligible, with the failing criteria; withdrawn) / screening not finished -> eligible (a valid
signature) -> enrolled. Boxes add up: assessed = excluded + screening + eligible. A candidate
can fail several criteria, so the per-criterion counts can add up to more than "not eligible".
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.styles import Font

__all__ = ["COLUMNS", "cells", "flow", "flow_svg", "to_csv", "to_xlsx"]

COLUMNS = (("number", "Screening no."), ("status", "Status"), ("cohort", "Cohort"), ("subject_id", "Subject id"),
           ("computed", "Computed"), ("failing", "Failing criteria"), ("failure_reasons", "Screen-failure reasons"),
           ("open_reviews", "Open review items"), ("screened_at", "Screened (UTC)"))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NO_COHORT = "none"


def cells(row: dict[str, Any]) -> list[str]:
    """One log row as the export's text cells, in :data:`COLUMNS` order."""
    values = {**row, "computed": row["verdict"] or row["overall"] or "",
              "failing": "; ".join(row["failing"]), "open_reviews": "; ".join(row["open_reviews"]),
              "failure_reasons": "; ".join(f"{f['id']}: {f['reason']}" for f in row["failure_reasons"])}
    return ["" if values[key] is None else str(values[key]) for key, _ in COLUMNS]


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def to_csv(log: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in log["candidates"]:
        writer.writerow([_defused(cell) for cell in cells(row)])
    return out.getvalue()


def to_xlsx(log: dict[str, Any], statuses: tuple[str, ...], created: datetime) -> bytes:
    """Sheet "Screening log" (the rows) and sheet "Counts" (cohort x status); ``created`` is stamped in."""
    wb = Workbook()
    wb.properties.created = wb.properties.modified = created.replace(tzinfo=None)
    sheet = wb.active
    sheet.title = "Screening log"
    _rows(sheet, [label for _, label in COLUMNS], [cells(row) for row in log["candidates"]])
    counts = wb.create_sheet("Counts")
    _rows(counts, ["Cohort", *statuses, "total"],
          [[cohort, *(per[s] for s in statuses), sum(per.values())] for cohort, per in log["counts"].items()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rows(sheet: Any, header: list[str], rows: list[list[Any]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "="
    sheet.freeze_panes = "A2"
    for i, _ in enumerate(header):
        letter = sheet.cell(row=1, column=i + 1).column_letter
        width = max(len(str(c.value or "")) for c in sheet[letter])
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)


# ---------------------------------------------------------------- flow figure

def flow(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The flow figure's numbers per cohort (``none`` for candidates with no cohort yet)."""
    out: dict[str, dict[str, Any]] = {}
    for row in log["candidates"]:
        f = out.setdefault(row["cohort"] or NO_COHORT, {
            "assessed": 0, "excluded": 0, "not_eligible": 0, "withdrawn": 0, "screening": 0, "eligible": 0,
            "enrolled": 0, "awaiting_enrollment": 0, "reasons": Counter()})
        status = row["status"]
        f["assessed"] += 1
        if status in ("ineligible", "screen-failed"):
            f["excluded"] += 1
            f["not_eligible"] += 1
            f["reasons"].update(row["failing"])
        elif status == "withdrawn":
            f["excluded"] += 1
            f["withdrawn"] += 1
        elif status in ("candidate", "screening"):
            f["screening"] += 1
        else:  # eligible (a valid signature) or enrolled
            f["eligible"] += 1
            f["enrolled" if status == "enrolled" else "awaiting_enrollment"] += 1
    for f in out.values():
        f["reasons"] = dict(sorted(f["reasons"].items(), key=lambda kv: (-kv[1], kv[0])))
    return out


MAIN_W, SIDE_W, GAP, LINE, PAD = 230, 370, 30, 16, 8
COLUMN_W = MAIN_W + GAP + SIDE_W + 40


def flow_svg(numbers: dict[str, dict[str, Any]], titles: dict[str, str], title: str) -> str:
    """The flow figure as a standalone SVG; each box is a ``<g id="flow-{cohort}-{box}" data-n="...">``."""
    parts: list[str] = []
    height = 120
    for i, (cohort, f) in enumerate(numbers.items()):
        x, side_x = 20 + i * COLUMN_W, 20 + i * COLUMN_W + MAIN_W + GAP
        trunk = x + MAIN_W / 2
        parts.append(_text(x, 60, f"Cohort {cohort}" if cohort != NO_COHORT else "No cohort chosen yet", bold=True))
        top = _bottom(80, 1)
        parts.append(_box(cohort, "assessed", x, 80, MAIN_W, [f"Assessed for eligibility (n = {f['assessed']})"],
                          f["assessed"]))
        excluded = [f"Excluded (n = {f['excluded']})", f"Not eligible (n = {f['not_eligible']})",
                    *(f"  {cid} {_short(titles.get(cid, ''))} (n = {n})" for cid, n in f["reasons"].items()),
                    f"Withdrawn (n = {f['withdrawn']})"]
        y_excluded = top + 24
        parts.append(_box(cohort, "excluded", side_x, y_excluded, SIDE_W, excluded, f["excluded"]))
        y_screening = _bottom(y_excluded, len(excluded)) + 12
        parts.append(_box(cohort, "screening", side_x, y_screening, SIDE_W,
                          [f"Screening not finished (n = {f['screening']})"], f["screening"]))
        y_eligible = _bottom(y_screening, 1) + 24
        parts.append(_arrow(trunk, top, trunk, y_eligible))
        for y in (y_excluded + PAD + LINE / 2, y_screening + PAD + LINE / 2):
            parts.append(_arrow(trunk, y, side_x, y))
        parts.append(_box(cohort, "eligible", x, y_eligible, MAIN_W,
                          [f"Eligible (n = {f['eligible']})", f"awaiting enrollment (n = {f['awaiting_enrollment']})"],
                          f["eligible"]))
        y_enrolled = _bottom(y_eligible, 2) + 30
        parts.append(_arrow(trunk, _bottom(y_eligible, 2), trunk, y_enrolled))
        parts.append(_box(cohort, "enrolled", x, y_enrolled, MAIN_W, [f"Enrolled (n = {f['enrolled']})"],
                          f["enrolled"]))
        height = max(height, _bottom(y_enrolled, 1) + 20)
    width = max(1, len(numbers)) * COLUMN_W + 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:g}" '
            f'viewBox="0 0 {width} {height:g}" font-family="sans-serif" font-size="12">\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>\n'
            f'<rect width="{width}" height="{height:g}" fill="white"/>\n'
            + _text(20, 28, title, bold=True, size=15) + "\n" + "\n".join(parts) + "\n</svg>\n")


def _bottom(y: float, lines: int) -> float:
    return y + lines * LINE + 2 * PAD


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(x: float, y: float, text: str, bold: bool = False, size: int | None = None) -> str:
    style = (' font-weight="bold"' if bold else "") + (f' font-size="{size}"' if size else "")
    return f'<text x="{x:g}" y="{y:g}"{style} xml:space="preserve">{escape(text)}</text>'


def _box(cohort: str, box: str, x: float, y: float, w: float, lines: list[str], n: int) -> str:
    h = _bottom(0, len(lines))
    body = "".join(_text(x + PAD, y + PAD + (i + 1) * LINE - 4, line, bold=i == 0) for i, line in enumerate(lines))
    return (f'<g id={quoteattr(f"flow-{cohort}-{box}")} data-n="{n}">'
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="none" stroke="black"/>{body}</g>')


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="black" '
            'marker-end="url(#arrow)"/>')
