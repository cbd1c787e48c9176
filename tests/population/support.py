"""Helpers of the population tests (a module, not conftest.py, so tests can import them)."""

from __future__ import annotations

from datetime import date

from trialdesk.synth import AS_OF

SEED = 20260302
PERSONS = 10_000  # written both ways; the Spark test uses the same OMOP folder
DATES = {"as_of": AS_OF, "enrollment": AS_OF, "infusion": AS_OF}


def mismatch_table(rows: list[tuple], left: str, right: str, total: int | None = None, limit: int = 20) -> str:
    """Mismatches as a readable table: (person, mode, cohort, criterion, (outcome, reason) x 2).

    Reasons are cut to keep one line per mismatch; at most ``limit`` rows are shown.
    """
    def cell(outcome_reason: tuple[str | None, str | None]) -> str:
        outcome, reason = outcome_reason
        reason = (reason or "").replace("\n", " ")
        return f"{outcome}: {reason[:70] + '...' if len(reason) > 70 else reason}" if reason else str(outcome)

    header = ("person", "mode", "cohort", "criterion", left, right)
    body = [(str(p), str(m), str(c), str(k), cell(a), cell(b)) for p, m, c, k, a, b in rows[:limit]]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = lambda r: " | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    out = [line(header), "-+-".join("-" * w for w in widths), *map(line, body)]
    n = total if total is not None else len(rows)
    if n > limit:
        out.append(f"... and {n - limit} more")
    return "\n".join(out)


def describe_dates(dates: dict[str, date]) -> str:
    return ", ".join(f"{k} {v}" for k, v in dates.items())
