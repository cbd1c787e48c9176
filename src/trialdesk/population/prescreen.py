"""``trialdesk prescreen``: every person of an OMOP warehouse, every criterion, four states.

One row per person and cohort considered: without a chosen cohort, a person is
considered for each cohort whose entry diagnosis the warehouse holds (as
``screen`` does); with one, every person is screened for it. Outputs are
written atomically (to a temporary file in the same folder, then renamed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis
from ibis import _
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trialdesk.engine.screen import OVERALL_ORDER
from trialdesk.population.compile import Compiler
from trialdesk.population.facts import Facts, future_counts
from trialdesk.population.source import Omop
from trialdesk.protocol.model import Criterion, Protocol
from trialdesk.protocol.render import needs, render

OUTCOMES = ("pass", "fail", "unknown", "review", "not_applicable")


@dataclass
class FunnelRow:
    criterion: str
    counts: dict[str, int]  # outcome -> persons
    remaining: int          # persons not ruled out by this or an earlier criterion


@dataclass
class Funnel:
    cohort: str
    considered: int
    rows: list[FunnelRow]


@dataclass
class Prescreen:
    persons: int
    funnels: list[Funnel]
    data_quality: dict[str, int]


def _reason_texts(protocol: Protocol, criterion: Criterion) -> list[tuple[int, bool, str]]:
    """(step index, decided-by-missing-data, text) for each way the criterion can end."""
    out = []
    if criterion.applies_if is not None:
        out.append((-1, True, f"cannot tell whether it applies: needs {needs(criterion.applies_if, protocol)}"))
    previous = None
    for i, step in enumerate(criterion.rule):
        if step.when is not None:
            out.append((i, True, f"missing or stale: {needs(step.when, protocol) or render(step.when, protocol)}"))
            out.append((i, False, step.reason or render(step.when, protocol)))
            previous = step.when
        else:
            text = step.reason or (f"not ({render(previous, protocol)})" if previous is not None else step.then)
            out.append((i, False, text))
    return out


def _criterion_columns(compiler: Compiler, criterion: Criterion, w: ibis.Table) -> dict[str, ibis.Value]:
    outcome = compiler.outcome(criterion, w)
    step = compiler.step_index(criterion, w)
    cases = []
    for i, missing, text in _reason_texts(compiler.protocol, criterion):
        if missing:
            then = criterion.rule[i].then if i >= 0 else "unknown"
            cond = (step == i) & (outcome == "unknown") if then != "unknown" or i < 0 else None
            if cond is not None:
                cases.append((cond, text))
        else:
            cases.append((step == i, text))
    reason = ibis.cases(*cases, else_=ibis.null().cast("string"))
    reason = ibis.ifelse(outcome.isin(["pass", "not_applicable"]), ibis.null().cast("string"), reason)
    return {criterion.id: outcome, f"{criterion.id}_reason": reason}


def _overall(columns: list[ibis.Value]) -> ibis.Value:
    cases = [(ibis.or_(*[c == outcome for c in columns]), verdict) for outcome, verdict in OVERALL_ORDER]
    return ibis.cases(*cases, else_="eligible")


def build(protocol: Protocol, omop: Omop, dates: dict[str, date], cohort: str | None = None,
          facts: Facts | None = None) -> ibis.Table:
    """The result table as an Ibis expression over the cached fact tables."""
    facts = facts or Facts(protocol, omop, dates["as_of"])
    compiler = Compiler(protocol, facts, dates)
    chosen = [cohort] if cohort else list(protocol.cohorts)
    for cid in chosen:
        compiler.register(protocol.cohorts[cid].entry)
        for c in protocol.for_cohort(cid):
            for node in [s.when for s in c.rule if s.when is not None] + ([c.applies_if] if c.applies_if else []):
                compiler.register(node)
    p = omop["person"]
    w = compiler.wide(p.select("person_id", patient_id=p.person_source_value)).cache()  # computed once
    parts = []
    all_ids = [c.id for c in protocol.criteria]
    for cid in chosen:
        rows = w if cohort else w.filter(compiler.expr(protocol.cohorts[cid].entry, w).fill_null(True))
        columns: dict[str, ibis.Value] = {}
        for c in protocol.for_cohort(cid):
            columns.update(_criterion_columns(compiler, c, rows))
        outcome_cols = [columns[c.id] for c in protocol.for_cohort(cid)]
        selected = {"person_id": rows.person_id, "patient_id": rows.patient_id, "cohort": ibis.literal(cid),
                    "overall": _overall(outcome_cols)}
        for cid2 in all_ids:  # every cohort's table has every criterion column (NULL where not its own)
            selected[cid2] = columns.get(cid2, ibis.null().cast("string"))
            selected[f"{cid2}_reason"] = columns.get(f"{cid2}_reason", ibis.null().cast("string"))
        parts.append(rows.select(**selected))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the target folder, renamed into place when complete."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(result: ibis.Table, out: Path) -> None:
    """Stream the result to Parquet or CSV (chosen by the file's suffix), atomically."""
    def write(tmp: Path) -> None:
        batches = result.to_pyarrow_batches(chunk_size=100_000)
        schema = batches.schema
        if out.suffix == ".parquet":
            with pq.ParquetWriter(tmp, schema) as writer:
                for b in batches:
                    writer.write_batch(b)
        else:
            with pacsv.CSVWriter(tmp, schema) as writer:
                for b in batches:
                    writer.write_batch(b)
    atomic_write(out, write)


def funnel(protocol: Protocol, result: ibis.Table, cohorts: list[str]) -> list[Funnel]:
    """Attrition per cohort, in protocol order (computed where the result lives)."""
    out = []
    for cid in cohorts:
        criteria = [c.id for c in protocol.for_cohort(cid)]
        t = result.filter(result.cohort == cid)
        metrics = {"n": t.count()}
        alive = ibis.literal(True)
        for i, c in enumerate(criteria):
            for o in OUTCOMES:
                metrics[f"{i}_{o}"] = (t[c] == o).cast("int64").sum()
            alive = alive & (t[c] != "fail")
            metrics[f"{i}_alive"] = alive.cast("int64").sum()
        row = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
        rows = [FunnelRow(c, {o: int(row[f"{i}_{o}"] or 0) for o in OUTCOMES}, int(row[f"{i}_alive"] or 0))
                for i, c in enumerate(criteria)]
        out.append(Funnel(cid, int(row["n"]), rows))
    return out


def worklist(protocol: Protocol, result: ibis.Table) -> ibis.Table:
    """Persons not ruled out, with the data still to collect (their unknown criteria)."""
    t = result.filter(result.overall != "ineligible")
    todo = [ibis.ifelse(t[c.id] == "unknown", ibis.literal(f"{c.id}: ") + t[f"{c.id}_reason"], None)
            for c in protocol.criteria]
    collect = ibis.literal("; ").join(todo)  # concat_ws: NULL items are skipped
    return t.select("person_id", "patient_id", "cohort", "overall", to_collect=collect)


def data_quality(facts: Facts) -> dict[str, int]:
    """Counts a data manager should see: rows after the screening date (ignored), and
    results that could not be read (no or unknown unit, impossible value: read as missing)."""
    out = {f"future-dated rows in {k} (ignored)": v for k, v in future_counts(facts.omop, facts.as_of).items() if v}
    parts = []
    for m in facts.protocol.measures.values():
        if m.result == "numeric":
            r = facts.measure(m)
            parts.append(r.filter(r.num.notnull() & r.value.isnull()).select(label=ibis.literal(m.label)))
    counts = ibis.union(*parts).group_by("label").aggregate(n=_.count()).to_pyarrow().to_pylist()
    for row in counts:
        out[f"{row['label']} results with no or an unknown unit, or an impossible value (read as missing)"] = row["n"]
    return out


